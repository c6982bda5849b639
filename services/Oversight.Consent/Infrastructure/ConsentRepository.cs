using System.Data.Common;
using System.Text.Json;
using Dapper;
using Oversight.BuildingBlocks.Data;
using Oversight.Consent.Model;

namespace Oversight.Consent.Infrastructure;

/// <summary>
/// All SQL of the Consent module, written once in the subset SQLite and SQL Server share; the
/// dialect supplies paging and identity returns. Reads take a connection, writes a session.
/// </summary>
public sealed class ConsentRepository(ConsentDatabase database)
{
    private static readonly JsonSerializerOptions EvidenceSerializer = new(JsonSerializerDefaults.Web);

    private SqlDialect Dialect => database.Dialect;

    // ---- artefacts -------------------------------------------------------------------------

    public async Task<ConsentArtefact?> GetAsync(DbConnection connection, string id, DbTransaction? transaction = null, CancellationToken cancellationToken = default)
    {
        var row = await connection.QuerySingleOrDefaultAsync<ArtefactRow>(new CommandDefinition(
            ConsentSql.GetArtefact, new { Id = id }, transaction, cancellationToken: cancellationToken));
        return row?.ToDomain();
    }

    public Task<ConsentArtefact?> GetAsync(DbSession session, string id) =>
        GetAsync(session.Connection, id, session.Transaction, session.CancellationToken);

    public async Task InsertAsync(DbSession session, ConsentArtefact artefact)
    {
        var terms = artefact.Terms;
        await session.ExecuteAsync(
            ConsentSql.InsertArtefact,
            new
            {
                artefact.Id,
                artefact.SubjectId,
                artefact.ControllerId,
                terms.RecipientId,
                terms.Purpose,
                DataCategories = string.Join(' ', terms.DataCategories),
                ValidFrom = terms.ValidFrom.ToUnixTimeMilliseconds(),
                ValidUntil = terms.ValidUntil.ToUnixTimeMilliseconds(),
                Mode = (int)terms.Mode,
                DataLife = (long)terms.DataLife.TotalSeconds,
                FrequencyMax = terms.FrequencyLimit?.MaxDeliveries,
                FrequencyPeriod = (int?)terms.FrequencyLimit?.Period,
                RecordFrom = terms.RecordFrom?.ToUnixTimeMilliseconds(),
                RecordUntil = terms.RecordUntil?.ToUnixTimeMilliseconds(),
                Evidence = JsonSerializer.Serialize(terms.Evidence, EvidenceSerializer),
                Status = (int)artefact.StoredStatus,
                artefact.StatusReason,
                artefact.SupersedesId,
                CreatedAt = artefact.CreatedAt.ToUnixTimeMilliseconds(),
                UpdatedAt = artefact.UpdatedAt.ToUnixTimeMilliseconds(),
                artefact.Version,
                artefact.ReceiptJws,
                artefact.ReceiptKeyId,
            });
    }

    /// <summary>
    /// Moves an artefact to a new status if it is still at <paramref name="expectedVersion"/>
    /// (optimistic concurrency); false when another writer got there first.
    /// </summary>
    public async Task<bool> UpdateStatusAsync(
        DbSession session, string id, long expectedVersion, ConsentStatus status, string? reason, string? supersededById, DateTimeOffset at)
    {
        var updated = await session.ExecuteAsync(
            ConsentSql.UpdateArtefactStatus,
            new { Id = id, ExpectedVersion = expectedVersion, Status = (int)status, Reason = reason, SupersededById = supersededById, At = at.ToUnixTimeMilliseconds() });
        return updated == 1;
    }

    /// <summary>Appends a history entry; its sequence is the consistency token of the write.</summary>
    public async Task<long> AppendChangeAsync(DbSession session, string consentId, long version, ConsentStatus status, string? reason, string actorId, DateTimeOffset at) =>
        await session.ExecuteScalarAsync<long>(
            ConsentSql.AppendChange(Dialect),
            new { ConsentId = consentId, Version = version, Status = (int)status, Reason = reason, ActorId = actorId, At = at.ToUnixTimeMilliseconds() });

    public async Task<IReadOnlyList<ConsentChange>> ListChangesAsync(DbConnection connection, string consentId, long afterSequence, int limit, CancellationToken cancellationToken)
    {
        var rows = await connection.QueryAsync<ChangeRow>(new CommandDefinition(
            ConsentSql.ListChanges(Dialect),
            new { ConsentId = consentId, After = afterSequence, Limit = limit }, cancellationToken: cancellationToken));
        return rows.Select(r => r.ToDomain()).ToList();
    }

    /// <summary>The newest change sequence: the freshness a read made now reflects.</summary>
    public Task<long> LatestSequenceAsync(DbConnection connection, CancellationToken cancellationToken) =>
        LatestSequenceAsync(connection, null, cancellationToken);

    public Task<long> LatestSequenceAsync(DbConnection connection, DbTransaction? transaction, CancellationToken cancellationToken) =>
        connection.ExecuteScalarAsync<long>(new CommandDefinition(
            ConsentSql.LatestSequence, transaction: transaction, cancellationToken: cancellationToken));

    /// <summary>Artefacts newest first, by subject or by controller (optionally also by controller), after a keyset position.</summary>
    public async Task<IReadOnlyList<ConsentArtefact>> ListAsync(
        DbConnection connection, string? subjectId, string? controllerId, (long CreatedAtMs, string Id)? after, int limit, CancellationToken cancellationToken)
    {
        var sql = ConsentSql.ListArtefacts(Dialect, subjectId is not null, controllerId is not null, after is not null);
        var rows = await connection.QueryAsync<ArtefactRow>(new CommandDefinition(sql, new
        {
            SubjectId = subjectId,
            ControllerId = controllerId,
            AfterCreated = after?.CreatedAtMs,
            AfterId = after?.Id,
            Limit = limit,
        }, cancellationToken: cancellationToken));
        return rows.Select(r => r.ToDomain()).ToList();
    }

    /// <summary>Many subjects' consents at once, grouped by subject; of one purpose, or of all when it is null.</summary>
    public async Task<Dictionary<string, List<ConsentCoverage>>> CoverageForBatchAsync(
        DbConnection connection, IReadOnlyList<string> subjectIds, string controllerId, string recipientId, string? purpose, CancellationToken cancellationToken)
    {
        var bySubject = new Dictionary<string, List<ConsentCoverage>>(StringComparer.Ordinal);
        await using var reader = await connection.ExecuteReaderAsync(new CommandDefinition(
            ConsentSql.CoverageForBatchCheck(Dialect, purpose is not null),
            new { SubjectIds = SqlDialect.JsonTexts(subjectIds), ControllerId = controllerId, RecipientId = recipientId, Purpose = purpose },
            cancellationToken: cancellationToken));
        while (await reader.ReadAsync(cancellationToken))
        {
            var subject = reader.GetString(12);
            if (!bySubject.TryGetValue(subject, out var list))
            {
                bySubject[subject] = list = [];
            }

            list.Add(ReadCoverage(reader));
        }

        return bySubject;
    }

    /// <summary>Reads one row of <c>ConsentSql.CoverageColumns</c> straight from the reader: checks are the hot path.</summary>
    internal static ConsentCoverage ReadCoverage(DbDataReader reader) => new(
        reader.GetString(0),
        reader.GetString(1),
        SplitIds(reader.GetString(2)),
        FromMs(reader.GetInt64(3)),
        FromMs(reader.GetInt64(4)),
        (ConsentStatus)reader.GetInt64(5),
        reader.IsDBNull(6) || reader.IsDBNull(7) ? null : new FrequencyLimit((int)reader.GetInt64(6), (FrequencyPeriod)reader.GetInt64(7)),
        reader.IsDBNull(8) ? null : FromMs(reader.GetInt64(8)),
        reader.IsDBNull(9) ? null : FromMs(reader.GetInt64(9)),
        TimeSpan.FromSeconds(reader.GetInt64(10)),
        FromMs(reader.GetInt64(11)));

    /// <summary>Deliveries per consent in the current hour, day and month (UTC calendar windows), reported or reserved.</summary>
    public async Task<Dictionary<string, DeliveryCounts>> DeliveryCountsAsync(
        DbConnection connection, IReadOnlyCollection<string> consentIds, string? exceptDeliveryId, DateTimeOffset now, CancellationToken cancellationToken,
        DbTransaction? transaction = null)
    {
        var counts = new Dictionary<string, DeliveryCounts>(StringComparer.Ordinal);
        if (consentIds.Count == 0)
        {
            return counts;
        }

        var rows = await connection.QueryAsync<DeliveryCountRow>(new CommandDefinition(
            ConsentSql.DeliveryCounts(Dialect),
            new
            {
                Ids = SqlDialect.JsonTexts(consentIds),
                ExceptDeliveryId = exceptDeliveryId,
                Hour = FrequencyLimit.WindowStart(FrequencyPeriod.Hour, now).ToUnixTimeMilliseconds(),
                Day = FrequencyLimit.WindowStart(FrequencyPeriod.Day, now).ToUnixTimeMilliseconds(),
                Month = FrequencyLimit.WindowStart(FrequencyPeriod.Month, now).ToUnixTimeMilliseconds(),
                Now = now.ToUnixTimeMilliseconds(),
            },
            transaction,
            cancellationToken: cancellationToken));
        foreach (var row in rows)
        {
            counts[row.ConsentId] = new DeliveryCounts((int)row.ThisHour, (int)row.Today, (int)row.ThisMonth);
        }

        return counts;
    }

    /// <summary>Holds these consents until the session ends, so uses counted under it cannot race another delivery's.</summary>
    public Task LockConsentsAsync(DbSession session, IReadOnlyCollection<string> consentIds) =>
        session.QueryAsync<string>(ConsentSql.LockConsents(Dialect), new { Ids = SqlDialect.JsonTexts(consentIds) });

    /// <summary>Records that the delivery used each of these consents (once per delivery).</summary>
    public Task ReserveUsesAsync(DbSession session, string deliveryId, IEnumerable<string> consentIds, DateTimeOffset at) =>
        session.ExecuteAsync(ConsentSql.ReserveUse, consentIds.Select(id => new { ConsentId = id, DeliveryId = deliveryId, At = at.ToUnixTimeMilliseconds() }));

    /// <summary>Open artefacts whose valid-until has passed, for the expiry sweep.</summary>
    public async Task<IReadOnlyList<ConsentArtefact>> DueForExpiryAsync(DbConnection connection, DateTimeOffset now, int limit, CancellationToken cancellationToken)
    {
        var rows = await connection.QueryAsync<ArtefactRow>(new CommandDefinition(
            ConsentSql.DueForExpiry(Dialect),
            new { Now = now.ToUnixTimeMilliseconds(), Limit = limit }, cancellationToken: cancellationToken));
        return rows.Select(r => r.ToDomain()).ToList();
    }

    /// <summary>The subject's open artefacts from one controller (for erasure).</summary>
    public async Task<IReadOnlyList<ConsentArtefact>> OpenForSubjectAsync(DbSession session, string subjectId, string controllerId)
    {
        var rows = await session.QueryAsync<ArtefactRow>(
            ConsentSql.OpenForSubject,
            new { SubjectId = subjectId, ControllerId = controllerId });
        return rows.Select(r => r.ToDomain()).ToList();
    }

    // ---- registry --------------------------------------------------------------------------

    public async Task<IReadOnlyList<Purpose>> PurposesAsync(CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        return (await connection.QueryAsync<Purpose>(new CommandDefinition(
            ConsentSql.Purposes,
            cancellationToken: cancellationToken))).ToList();
    }

    public async Task<IReadOnlyList<DataCategory>> CategoriesAsync(CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        var rows = await connection.QueryAsync<CategoryRow>(new CommandDefinition(
            ConsentSql.Categories,
            cancellationToken: cancellationToken));
        return rows.Select(r => new DataCategory(r.Id, r.ParentId, r.DisplayName, r.Sensitive != 0, r.Description)).ToList();
    }

    // ---- known organisations ---------------------------------------------------------------

    public async Task<KnownOrganisation?> OrganisationAsync(DbConnection connection, string id, DbTransaction? transaction, CancellationToken cancellationToken)
    {
        var row = await connection.QuerySingleOrDefaultAsync<OrganisationRow>(new CommandDefinition(
            ConsentSql.GetOrganisation,
            new { Id = id }, transaction, cancellationToken: cancellationToken));
        return row is null ? null : new KnownOrganisation(row.Id, row.Kind, row.Name, row.Jurisdiction, row.Version);
    }

    /// <summary>Inserts or updates an organisation unless the stored version is already as new (stale events are dropped).</summary>
    public async Task<bool> UpsertOrganisationAsync(DbSession session, KnownOrganisation organisation, DateTimeOffset at) =>
        await session.ExecuteAsync(ConsentSql.UpsertOrganisation(Dialect),
            new { organisation.Id, organisation.Kind, organisation.Name, organisation.Jurisdiction, organisation.Version, At = at.ToUnixTimeMilliseconds() }) == 1;

    // ---- statutory mandates ----------------------------------------------------------------

    public async Task<IReadOnlyList<StatutoryMandate>> MandatesForRecipientAsync(DbConnection connection, string recipientId, CancellationToken cancellationToken)
    {
        var rows = await connection.QueryAsync<MandateRow>(new CommandDefinition(
            ConsentSql.MandatesForRecipient,
            new { RecipientId = recipientId }, cancellationToken: cancellationToken));
        return rows.Select(r => r.ToDomain()).ToList();
    }

    public async Task<IReadOnlyList<StatutoryMandate>> ListMandatesAsync(DbConnection connection, string? afterId, int limit, CancellationToken cancellationToken)
    {
        var rows = await connection.QueryAsync<MandateRow>(new CommandDefinition(
            ConsentSql.ListMandates(Dialect),
            new { AfterId = afterId, Limit = limit }, cancellationToken: cancellationToken));
        return rows.Select(r => r.ToDomain()).ToList();
    }

    public async Task<bool> UpsertMandateAsync(DbSession session, StatutoryMandate mandate, long version, DateTimeOffset at)
    {
        var parameters = new
        {
            mandate.Id,
            mandate.LegalReference,
            mandate.RecipientId,
            Purposes = string.Join(' ', mandate.Purposes),
            DataCategories = string.Join(' ', mandate.DataCategories),
            ValidFrom = mandate.ValidFrom.ToUnixTimeMilliseconds(),
            ValidUntil = mandate.ValidUntil?.ToUnixTimeMilliseconds(),
            Version = version,
            At = at.ToUnixTimeMilliseconds(),
        };
        return await session.ExecuteAsync(ConsentSql.UpsertMandate(Dialect), parameters) == 1;
    }

    /// <summary>Marks a mandate repealed. A repeal that arrives before its enactment leaves a tombstone, so the late enactment stays repealed.</summary>
    public Task RepealMandateAsync(DbSession session, string mandateId, long version, DateTimeOffset repealedAt, DateTimeOffset at) =>
        session.ExecuteAsync(ConsentSql.RepealMandate(Dialect),
            new { Id = mandateId, Version = version, RepealedAt = repealedAt.ToUnixTimeMilliseconds(), At = at.ToUnixTimeMilliseconds() });

    // ---- disclosures -----------------------------------------------------------------------

    /// <summary>
    /// A delivery's disclosures (one page of it: hundreds of subjects) in one prepared command; a subject
    /// the delivery already reported is skipped. Should a concurrent copy insert one between the check
    /// and the insert (possible on SQL Server), the rows go in one by one, each duplicate skipped.
    /// </summary>
    public async Task InsertDisclosuresAsync(DbSession session, IReadOnlyList<Disclosure> disclosures)
    {
        try
        {
            await session.ExecuteAsync(ConsentSql.InsertDisclosureIfAbsent, disclosures.Select(DisclosureParameters));
        }
        catch (DbException exception) when (Dialect.IsUniqueViolation(exception))
        {
            foreach (var disclosure in disclosures)
            {
                await InsertDisclosureAsync(session, disclosure);
            }
        }
    }

    private static object DisclosureParameters(Disclosure disclosure) => new
    {
        disclosure.DeliveryId,
        disclosure.SubjectId,
        disclosure.ControllerId,
        disclosure.RecipientId,
        disclosure.Purpose,
        DataCategories = string.Join(' ', disclosure.DataCategories),
        disclosure.ConsentId,
        disclosure.MandateId,
        DisclosedAt = disclosure.DisclosedAt.ToUnixTimeMilliseconds(),
        disclosure.AuditSequence,
    };

    public async Task<int> InsertDisclosureAsync(DbSession session, Disclosure disclosure)
    {
        try
        {
            return await session.ExecuteAsync(ConsentSql.InsertDisclosure, DisclosureParameters(disclosure));
        }
        catch (DbException exception) when (Dialect.IsUniqueViolation(exception))
        {
            return 0; // The same delivery reported twice.
        }
    }

    public async Task<IReadOnlyList<Disclosure>> ListDisclosuresAsync(
        DbConnection connection, string subjectId, string? controllerId, (long At, string DeliveryId)? after, int limit, CancellationToken cancellationToken)
    {
        var sql = ConsentSql.ListDisclosures(Dialect, controllerId is not null, after is not null);
        var rows = await connection.QueryAsync<DisclosureRow>(new CommandDefinition(sql, new
        {
            SubjectId = subjectId,
            ControllerId = controllerId,
            AfterAt = after?.At,
            AfterId = after?.DeliveryId,
            Limit = limit,
        }, cancellationToken: cancellationToken));
        return rows.Select(r => r.ToDomain()).ToList();
    }

    // ---- erasure ---------------------------------------------------------------------------

    public Task InsertErasureAsync(DbSession session, ErasureRequest request) =>
        session.ExecuteAsync(
            ConsentSql.InsertErasure,
            new { request.Id, request.SubjectId, request.ControllerId, CreatedAt = request.CreatedAt.ToUnixTimeMilliseconds(), request.RevokedConsentCount });

    public async Task<ErasureRequest?> ErasureAsync(DbConnection connection, string id, DbTransaction? transaction, CancellationToken cancellationToken)
    {
        var row = await connection.QuerySingleOrDefaultAsync<ErasureRow>(new CommandDefinition(
            ConsentSql.GetErasure, new { Id = id }, transaction, cancellationToken: cancellationToken));
        return row?.ToDomain();
    }

    public Task<int> CompleteErasureAsync(DbSession session, string id, long erasedRecords, DateTimeOffset completedAt) =>
        session.ExecuteAsync(
            ConsentSql.CompleteErasure,
            new { Id = id, Erased = erasedRecords, CompletedAt = completedAt.ToUnixTimeMilliseconds() });

    // ---- rows ------------------------------------------------------------------------------

    private static DateTimeOffset FromMs(long ms) => DateTimeOffset.FromUnixTimeMilliseconds(ms);

    private static string[] SplitIds(string ids) => ids.Split(' ', StringSplitOptions.RemoveEmptyEntries);

    private sealed class ArtefactRow
    {
        public string Id { get; set; } = "";
        public string SubjectId { get; set; } = "";
        public string ControllerId { get; set; } = "";
        public string RecipientId { get; set; } = "";
        public string PurposeId { get; set; } = "";
        public string DataCategories { get; set; } = "";
        public long ValidFromMs { get; set; }
        public long ValidUntilMs { get; set; }
        public long Mode { get; set; }
        public long DataLifeSeconds { get; set; }
        public long? FrequencyMax { get; set; }
        public long? FrequencyPeriod { get; set; }
        public long? RecordFromMs { get; set; }
        public long? RecordUntilMs { get; set; }
        public string EvidenceJson { get; set; } = "";
        public long Status { get; set; }
        public string? StatusReason { get; set; }
        public string? SupersedesId { get; set; }
        public string? SupersededById { get; set; }
        public long CreatedAtMs { get; set; }
        public long UpdatedAtMs { get; set; }
        public long Version { get; set; }
        public string ReceiptJws { get; set; } = "";
        public string ReceiptKeyId { get; set; } = "";

        public ConsentArtefact ToDomain() => new(
            Id,
            SubjectId,
            ControllerId,
            new ConsentTerms(
                RecipientId,
                PurposeId,
                SplitIds(DataCategories),
                FromMs(ValidFromMs),
                FromMs(ValidUntilMs),
                (ConsentMode)Mode,
                TimeSpan.FromSeconds(DataLifeSeconds),
                FrequencyMax is { } max && FrequencyPeriod is { } period ? new FrequencyLimit((int)max, (Model.FrequencyPeriod)period) : null,
                RecordFromMs is { } from ? FromMs(from) : null,
                RecordUntilMs is { } until ? FromMs(until) : null,
                JsonSerializer.Deserialize<ConsentEvidence>(EvidenceJson, EvidenceSerializer)!),
            (ConsentStatus)Status,
            StatusReason,
            SupersedesId,
            SupersededById,
            FromMs(CreatedAtMs),
            FromMs(UpdatedAtMs),
            Version,
            ReceiptJws,
            ReceiptKeyId);
    }

    private sealed class OrganisationRow
    {
        public string Id { get; set; } = "";
        public string Kind { get; set; } = "";
        public string Name { get; set; } = "";
        public string Jurisdiction { get; set; } = "";
        public long Version { get; set; }
    }

    private sealed class ChangeRow
    {
        public long Sequence { get; set; }
        public string ConsentId { get; set; } = "";
        public long Version { get; set; }
        public long Status { get; set; }
        public string? Reason { get; set; }
        public string ActorId { get; set; } = "";
        public long ChangedAtMs { get; set; }

        public ConsentChange ToDomain() => new(Sequence, ConsentId, Version, (ConsentStatus)Status, Reason, ActorId, FromMs(ChangedAtMs));
    }

    private sealed class CategoryRow
    {
        public string Id { get; set; } = "";
        public string? ParentId { get; set; }
        public string DisplayName { get; set; } = "";
        public long Sensitive { get; set; }
        public string Description { get; set; } = "";
    }

    private sealed class DeliveryCountRow
    {
        public string ConsentId { get; set; } = "";
        public long ThisHour { get; set; }
        public long Today { get; set; }
        public long ThisMonth { get; set; }
    }

    private sealed class MandateRow
    {
        public string Id { get; set; } = "";
        public string LegalReference { get; set; } = "";
        public string RecipientId { get; set; } = "";
        public string Purposes { get; set; } = "";
        public string DataCategories { get; set; } = "";
        public long ValidFromMs { get; set; }
        public long? ValidUntilMs { get; set; }
        public long? RepealedAtMs { get; set; }
        public long Version { get; set; }

        public StatutoryMandate ToDomain() => new(
            Id, LegalReference, RecipientId, SplitIds(Purposes), SplitIds(DataCategories), FromMs(ValidFromMs),
            ValidUntilMs is { } until ? FromMs(until) : null, RepealedAtMs is { } repealed ? FromMs(repealed) : null);
    }

    private sealed class DisclosureRow
    {
        public string DeliveryId { get; set; } = "";
        public string SubjectId { get; set; } = "";
        public string ControllerId { get; set; } = "";
        public string RecipientId { get; set; } = "";
        public string Purpose { get; set; } = "";
        public string DataCategories { get; set; } = "";
        public string? ConsentId { get; set; }
        public string? MandateId { get; set; }
        public long DisclosedAtMs { get; set; }
        public long? AuditSequence { get; set; }

        public Disclosure ToDomain() =>
            new(DeliveryId, SubjectId, ControllerId, RecipientId, Purpose, SplitIds(DataCategories), ConsentId, MandateId, FromMs(DisclosedAtMs), AuditSequence);
    }

    private sealed class ErasureRow
    {
        public string Id { get; set; } = "";
        public string SubjectId { get; set; } = "";
        public string ControllerId { get; set; } = "";
        public long Status { get; set; }
        public long CreatedAtMs { get; set; }
        public long? CompletedAtMs { get; set; }
        public long ErasedRecordCount { get; set; }
        public long RevokedConsentCount { get; set; }

        public ErasureRequest ToDomain() => new(
            Id, SubjectId, ControllerId, Status == 2, FromMs(CreatedAtMs), CompletedAtMs is { } done ? FromMs(done) : null, ErasedRecordCount, (int)RevokedConsentCount);
    }
}
