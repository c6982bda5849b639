using System.Data.Common;
using Dapper;
using Oversight.BuildingBlocks.Data;
using Oversight.BuildingBlocks.Errors;
using Oversight.Governance.Model;

namespace Oversight.Governance.Infrastructure;

/// <summary>The SQL of the founding and the share ledger.</summary>
public sealed class ShareRepository(GovernanceDatabase database)
{
    /// <summary>False when the venture is already founded (the one row exists).</summary>
    public async Task<bool> TryFoundAsync(DbSession session, string foundedBy, DateTimeOffset at)
    {
        try
        {
            await session.ExecuteAsync(GovernanceSql.InsertVenture, new { At = at.ToUnixTimeMilliseconds(), By = foundedBy });
            return true;
        }
        catch (DbException exception) when (session.Dialect.IsUniqueViolation(exception))
        {
            return false;
        }
    }

    public async Task<DateTimeOffset?> FoundedAtAsync(DbConnection connection, DbTransaction? transaction, CancellationToken cancellationToken) =>
        await connection.ExecuteScalarAsync<long?>(new CommandDefinition(GovernanceSql.GetVenture, transaction: transaction, cancellationToken: cancellationToken)) is { } ms
            ? DateTimeOffset.FromUnixTimeMilliseconds(ms)
            : null;

    public Task InsertClassAsync(DbSession session, ShareClass shareClass) =>
        session.ExecuteAsync(GovernanceSql.InsertShareClass, new
        {
            shareClass.Id,
            Kind = (int)shareClass.Kind,
            shareClass.VotesPerShare,
            shareClass.Authorised,
            Transferable = shareClass.Transferable ? 1 : 0,
        });

    public async Task<IReadOnlyList<ShareClass>> ClassesAsync(DbConnection connection, DbTransaction? transaction, CancellationToken cancellationToken) =>
        (await connection.QueryAsync<ClassRow>(new CommandDefinition(GovernanceSql.ShareClasses, transaction: transaction, cancellationToken: cancellationToken)))
        .Select(r => new ShareClass(r.Id, (ShareClassKind)r.Kind, r.VotesPerShare, r.Authorised, r.Transferable != 0)).ToList();

    private static Task<long> LedgerVersionAsync(DbSession session) => session.ExecuteScalarAsync<long>(GovernanceSql.LedgerVersion);

    /// <summary>False when another ledger append committed since <paramref name="expected"/> was read.</summary>
    private static async Task<bool> BumpLedgerVersionAsync(DbSession session, long expected) =>
        await session.ExecuteAsync(GovernanceSql.BumpLedgerVersion, new { Expected = expected }) == 1;

    /// <summary>The ledger as one consistent read, with the version a later append must still find.</summary>
    public async Task<LedgerSnapshot> SnapshotAsync(DbSession session) => new(
        await LedgerVersionAsync(session),
        await ClassesAsync(session.Connection, session.Transaction, session.CancellationToken),
        await LedgerAsync(session.Connection, long.MaxValue, session.Transaction, session.CancellationToken));

    /// <summary>
    /// Appends the entries as one change, provided no other append committed since the snapshot was
    /// read (ABORTED otherwise: the caller's checks may no longer hold); returns the last sequence.
    /// </summary>
    public async Task<long> AppendAsync(DbSession session, LedgerSnapshot snapshot, IReadOnlyList<LedgerEntry> entries)
    {
        if (!await BumpLedgerVersionAsync(session, snapshot.Version))
        {
            throw new AbortedException("The share ledger changed while this change was checked; retry.");
        }

        long last = 0;
        foreach (var entry in entries)
        {
            last = await AppendAsync(session, entry.Kind, entry.ClassId, entry.FromHolderId, entry.ToHolderId, entry.Quantity, entry.RecordedAt, entry.Reason);
        }

        return last;
    }

    /// <summary>Appends one movement; returns its sequence.</summary>
    public Task<long> AppendAsync(DbSession session, LedgerEntryKind kind, string classId, string? from, string? to, long quantity, DateTimeOffset at, string reason) =>
        session.ExecuteScalarAsync<long>(GovernanceSql.AppendLedgerEntryReturning(database.Dialect), new
        {
            Kind = (int)kind,
            ClassId = classId,
            FromHolderId = from,
            ToHolderId = to,
            Quantity = quantity,
            At = at.ToUnixTimeMilliseconds(),
            Reason = reason,
        });

    public async Task<IReadOnlyList<LedgerEntry>> LedgerAsync(DbConnection connection, long asOf, DbTransaction? transaction, CancellationToken cancellationToken) =>
        (await connection.QueryAsync<EntryRow>(new CommandDefinition(GovernanceSql.LedgerUpTo, new { AsOf = asOf }, transaction, cancellationToken: cancellationToken)))
        .Select(r => r.ToDomain()).ToList();

    public async Task<IReadOnlyList<LedgerEntry>> ListAsync(DbConnection connection, long after, int limit, CancellationToken cancellationToken) =>
        (await connection.QueryAsync<EntryRow>(new CommandDefinition(
            GovernanceSql.ListLedger(database.Dialect), new { After = after, Limit = limit }, cancellationToken: cancellationToken)))
        .Select(r => r.ToDomain()).ToList();

    public async Task<ShareTransfer?> GetTransferAsync(DbConnection connection, string id, DbTransaction? transaction, CancellationToken cancellationToken) =>
        (await connection.QuerySingleOrDefaultAsync<TransferRow>(new CommandDefinition(GovernanceSql.GetTransfer, new { Id = id }, transaction, cancellationToken: cancellationToken)))?.ToDomain();

    public Task InsertTransferAsync(DbSession session, ShareTransfer transfer) =>
        session.ExecuteAsync(GovernanceSql.InsertTransfer, new
        {
            transfer.Id,
            transfer.ClassId,
            transfer.SellerId,
            transfer.BuyerId,
            transfer.Quantity,
            State = (int)transfer.State,
            transfer.ApprovalReason,
            RequestedAt = transfer.RequestedAt.ToUnixTimeMilliseconds(),
            DecidedAt = transfer.DecidedAt?.ToUnixTimeMilliseconds(),
            transfer.DecisionReason,
            transfer.LedgerSequence,
            transfer.Version,
        });

    /// <summary>False when the transfer moved on since <paramref name="expectedVersion"/>.</summary>
    public async Task<bool> DecideTransferAsync(DbSession session, ShareTransfer decided, long expectedVersion) =>
        await session.ExecuteAsync(GovernanceSql.DecideTransfer, new
        {
            decided.Id,
            State = (int)decided.State,
            At = decided.DecidedAt?.ToUnixTimeMilliseconds(),
            Reason = decided.DecisionReason,
            decided.LedgerSequence,
            ExpectedVersion = expectedVersion,
        }) == 1;

    public async Task<IReadOnlyList<ShareTransfer>> ListTransfersAsync(
        DbConnection connection, ShareTransferState? state, string after, int limit, CancellationToken cancellationToken) =>
        (await connection.QueryAsync<TransferRow>(new CommandDefinition(GovernanceSql.ListTransfers(database.Dialect),
            new { State = (int?)state ?? 0, After = after, Limit = limit }, cancellationToken: cancellationToken)))
        .Select(r => r.ToDomain()).ToList();

    public async Task<CapitalChange?> GetCapitalChangeAsync(DbConnection connection, string id, DbTransaction? transaction, CancellationToken cancellationToken)
    {
        var row = await connection.QuerySingleOrDefaultAsync<ChangeRow>(
            new CommandDefinition(GovernanceSql.GetCapitalChange, new { Id = id }, transaction, cancellationToken: cancellationToken));
        return row is null ? null : (await WithLinesAsync(connection, [row], transaction, cancellationToken))[0];
    }

    public Task<string?> CapitalChangeIdOfProposalAsync(DbConnection connection, string proposalId, CancellationToken cancellationToken) =>
        connection.ExecuteScalarAsync<string?>(new CommandDefinition(GovernanceSql.CapitalChangeIdOfProposal, new { ProposalId = proposalId }, cancellationToken: cancellationToken));

    public async Task<IReadOnlyList<CapitalChange>> ListCapitalChangesAsync(
        DbConnection connection, CapitalChangeState? state, string after, int limit, CancellationToken cancellationToken)
    {
        var rows = (await connection.QueryAsync<ChangeRow>(new CommandDefinition(GovernanceSql.ListCapitalChanges(database.Dialect),
            new { State = (int?)state ?? 0, After = after, Limit = limit }, cancellationToken: cancellationToken))).ToList();
        return rows.Count == 0 ? [] : await WithLinesAsync(connection, rows, null, cancellationToken);
    }

    public async Task InsertCapitalChangeAsync(DbSession session, CapitalChange change)
    {
        await session.ExecuteAsync(GovernanceSql.InsertCapitalChange, new
        {
            change.Id,
            change.ProposalId,
            Kind = (int)change.Kind,
            State = (int)change.State,
            change.ApprovalReason,
            CreatedAt = change.CreatedAt.ToUnixTimeMilliseconds(),
            DecidedAt = change.DecidedAt?.ToUnixTimeMilliseconds(),
            change.DecisionReason,
            change.LedgerSequence,
            change.Version,
        });
        foreach (var line in change.Allocations)
        {
            await session.ExecuteAsync(GovernanceSql.InsertCapitalChangeLine, new { ChangeId = change.Id, line.HolderId, line.ClassId, line.Quantity });
        }
    }

    /// <summary>False when the change moved on since <paramref name="expectedVersion"/>.</summary>
    public async Task<bool> DecideCapitalChangeAsync(DbSession session, CapitalChange decided, long expectedVersion) =>
        await session.ExecuteAsync(GovernanceSql.DecideCapitalChange, new
        {
            decided.Id,
            State = (int)decided.State,
            At = decided.DecidedAt?.ToUnixTimeMilliseconds(),
            Reason = decided.DecisionReason,
            decided.LedgerSequence,
            ExpectedVersion = expectedVersion,
        }) == 1;

    private static async Task<IReadOnlyList<CapitalChange>> WithLinesAsync(
        DbConnection connection, IReadOnlyList<ChangeRow> rows, DbTransaction? transaction, CancellationToken cancellationToken)
    {
        var lines = (await connection.QueryAsync<LineRow>(new CommandDefinition(
                GovernanceSql.CapitalChangeLines, new { Ids = rows.Select(r => r.Id).ToList() }, transaction, cancellationToken: cancellationToken)))
            .ToLookup(l => l.ChangeId, l => new Allocation(l.HolderId, l.ClassId, l.Quantity), StringComparer.Ordinal);
        return rows.Select(r => new CapitalChange(
            r.Id, r.ProposalId, (CapitalChangeKind)r.Kind, lines[r.Id].ToList(), (CapitalChangeState)r.State, r.ApprovalReason,
            DateTimeOffset.FromUnixTimeMilliseconds(r.CreatedAtMs), r.DecidedAtMs is { } decided ? DateTimeOffset.FromUnixTimeMilliseconds(decided) : null,
            r.DecisionReason, r.LedgerSequence, r.Version)).ToList();
    }

    private sealed class ChangeRow
    {
        public string Id { get; set; } = "";
        public string ProposalId { get; set; } = "";
        public long Kind { get; set; }
        public long State { get; set; }
        public string? ApprovalReason { get; set; }
        public long CreatedAtMs { get; set; }
        public long? DecidedAtMs { get; set; }
        public string? DecisionReason { get; set; }
        public long? LedgerSequence { get; set; }
        public long Version { get; set; }
    }

    private sealed class LineRow
    {
        public string ChangeId { get; set; } = "";
        public string HolderId { get; set; } = "";
        public string ClassId { get; set; } = "";
        public long Quantity { get; set; }
    }

    private sealed class TransferRow
    {
        public string Id { get; set; } = "";
        public string ClassId { get; set; } = "";
        public string SellerId { get; set; } = "";
        public string BuyerId { get; set; } = "";
        public long Quantity { get; set; }
        public long State { get; set; }
        public string? ApprovalReason { get; set; }
        public long RequestedAtMs { get; set; }
        public long? DecidedAtMs { get; set; }
        public string? DecisionReason { get; set; }
        public long? LedgerSequence { get; set; }
        public long Version { get; set; }

        public ShareTransfer ToDomain() => new(
            Id, ClassId, SellerId, BuyerId, Quantity, (ShareTransferState)State, ApprovalReason, DateTimeOffset.FromUnixTimeMilliseconds(RequestedAtMs),
            DecidedAtMs is { } decided ? DateTimeOffset.FromUnixTimeMilliseconds(decided) : null, DecisionReason, LedgerSequence, Version);
    }

    private sealed class ClassRow
    {
        public string Id { get; set; } = "";
        public long Kind { get; set; }
        public long VotesPerShare { get; set; }
        public long Authorised { get; set; }
        public long Transferable { get; set; }
    }

    private sealed class EntryRow
    {
        public long Sequence { get; set; }
        public long Kind { get; set; }
        public string ClassId { get; set; } = "";
        public string? FromHolderId { get; set; }
        public string? ToHolderId { get; set; }
        public long Quantity { get; set; }
        public long RecordedAtMs { get; set; }
        public string Reason { get; set; } = "";

        public LedgerEntry ToDomain() => new(
            Sequence, (LedgerEntryKind)Kind, ClassId, FromHolderId, ToHolderId, Quantity, DateTimeOffset.FromUnixTimeMilliseconds(RecordedAtMs), Reason);
    }
}
