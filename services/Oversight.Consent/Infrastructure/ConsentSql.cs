using Oversight.BuildingBlocks.Data;

namespace Oversight.Consent.Infrastructure;

/// <summary>The Consent module's SQL, in the subset SQLite and SQL Server share; the dialect supplies paging and identity returns.</summary>
[SqlStatements]
public static class ConsentSql
{
    private const string ArtefactColumns = """
        id AS Id, subject_id AS SubjectId, controller_id AS ControllerId, recipient_id AS RecipientId,
        purpose_id AS PurposeId, data_categories AS DataCategories, valid_from_ms AS ValidFromMs,
        valid_until_ms AS ValidUntilMs, mode AS Mode, data_life_s AS DataLifeSeconds,
        frequency_max AS FrequencyMax, frequency_period AS FrequencyPeriod, record_from_ms AS RecordFromMs,
        record_until_ms AS RecordUntilMs, evidence_json AS EvidenceJson, status AS Status,
        status_reason AS StatusReason, supersedes_id AS SupersedesId, superseded_by_id AS SupersededById,
        created_at_ms AS CreatedAtMs, updated_at_ms AS UpdatedAtMs, version AS Version,
        receipt_jws AS ReceiptJws, receipt_key_id AS ReceiptKeyId
        """;

    /// <summary>
    /// What a check weighs, in the order <see cref="ConsentRepository.ReadCoverage"/> reads it; the
    /// INT columns cast to BIGINT so one reader works for both providers.
    /// </summary>
    private const string CoverageColumns = """
        id, purpose_id, data_categories, valid_from_ms, valid_until_ms, CAST(status AS BIGINT), CAST(frequency_max AS BIGINT),
        CAST(frequency_period AS BIGINT), record_from_ms, record_until_ms, data_life_s, created_at_ms, subject_id
        """;

    private const string MandateColumns = """
        id AS Id, legal_reference AS LegalReference, recipient_id AS RecipientId, purposes AS Purposes,
        data_categories AS DataCategories, valid_from_ms AS ValidFromMs, valid_until_ms AS ValidUntilMs,
        repealed_at_ms AS RepealedAtMs, version AS Version
        """;

    // ---- artefacts -----------------------------------------------------------------------------

    public static string GetArtefact => $"SELECT {ArtefactColumns} FROM consent_artefact WHERE id = @Id;";

    public static string InsertArtefact => """
        INSERT INTO consent_artefact (id, subject_id, controller_id, recipient_id, purpose_id, data_categories,
            valid_from_ms, valid_until_ms, mode, data_life_s, frequency_max, frequency_period, record_from_ms,
            record_until_ms, evidence_json, status, status_reason, supersedes_id, superseded_by_id, created_at_ms,
            updated_at_ms, version, receipt_jws, receipt_key_id)
        VALUES (@Id, @SubjectId, @ControllerId, @RecipientId, @Purpose, @DataCategories,
            @ValidFrom, @ValidUntil, @Mode, @DataLife, @FrequencyMax, @FrequencyPeriod, @RecordFrom,
            @RecordUntil, @Evidence, @Status, @StatusReason, @SupersedesId, NULL, @CreatedAt,
            @UpdatedAt, @Version, @ReceiptJws, @ReceiptKeyId);
        """;

    /// <summary>Optimistic concurrency: the row changes only if it is still at the version read.</summary>
    public static string UpdateArtefactStatus => """
        UPDATE consent_artefact
           SET status = @Status, status_reason = @Reason, superseded_by_id = COALESCE(@SupersededById, superseded_by_id),
               updated_at_ms = @At, version = version + 1
         WHERE id = @Id AND version = @ExpectedVersion;
        """;

    public static string AppendChange(SqlDialect dialect) => dialect.InsertReturning(
        "consent_change",
        "consent_id, version, status, reason, actor_id, changed_at_ms",
        "@ConsentId, @Version, @Status, @Reason, @ActorId, @At",
        "sequence");

    public static string ListChanges(SqlDialect dialect) => dialect.Page(
        """
        SELECT sequence AS Sequence, consent_id AS ConsentId, version AS Version, status AS Status, reason AS Reason,
               actor_id AS ActorId, changed_at_ms AS ChangedAtMs
          FROM consent_change WHERE consent_id = @ConsentId AND sequence > @After ORDER BY sequence
        """, "@Limit");

    public static string LatestSequence => "SELECT COALESCE(MAX(sequence), 0) FROM consent_change;";

    /// <summary>Newest first, by subject and/or controller, after a keyset position.</summary>
    public static string ListArtefacts(SqlDialect dialect, bool bySubject, bool byController, bool afterKey)
    {
        var filters = new List<string>();
        if (bySubject)
        {
            filters.Add("subject_id = @SubjectId");
        }

        if (byController)
        {
            filters.Add("controller_id = @ControllerId");
        }

        if (afterKey)
        {
            filters.Add("(created_at_ms < @AfterCreated OR (created_at_ms = @AfterCreated AND id < @AfterId))");
        }

        var where = filters.Count == 0 ? "" : " WHERE " + string.Join(" AND ", filters);
        return dialect.Page($"SELECT {ArtefactColumns} FROM consent_artefact{where} ORDER BY created_at_ms DESC, id DESC", "@Limit");
    }

    /// <summary>One subject's consents from one controller to one recipient: what a unary check weighs.</summary>
    public static string CoverageForCheck =>
        $"SELECT {CoverageColumns} FROM consent_artefact WHERE controller_id = @ControllerId AND recipient_id = @RecipientId AND subject_id = @SubjectId;";

    /// <summary>Many subjects' consents at once, of one purpose or of all.</summary>
    public static string CoverageForBatchCheck(SqlDialect dialect, bool byPurpose) => $"""
        SELECT {CoverageColumns} FROM consent_artefact
         WHERE controller_id = @ControllerId AND recipient_id = @RecipientId AND subject_id IN ({dialect.TextsIn("@SubjectIds")}){(byPurpose ? " AND purpose_id = @Purpose" : "")};
        """;

    /// <summary>
    /// Per consent, the deliveries that used it in the current hour, day and month (each counted once,
    /// at its first use): those Exchange reported as disclosures and those a check reserved.
    /// </summary>
    public static string DeliveryCounts(SqlDialect dialect) => $"""
        SELECT consent_id AS ConsentId,
               SUM(CASE WHEN first_used_ms >= @Hour THEN 1 ELSE 0 END) AS ThisHour,
               SUM(CASE WHEN first_used_ms >= @Day THEN 1 ELSE 0 END) AS Today,
               COUNT(*) AS ThisMonth
          FROM (SELECT consent_id, delivery_id, MIN(used_ms) AS first_used_ms
                  FROM (SELECT consent_id, delivery_id, disclosed_at_ms AS used_ms FROM disclosure
                         WHERE consent_id IN ({dialect.TextsIn("@Ids")}) AND disclosed_at_ms >= @Month AND disclosed_at_ms <= @Now
                        UNION ALL
                        SELECT consent_id, delivery_id, used_at_ms FROM frequency_use
                         WHERE consent_id IN ({dialect.TextsIn("@Ids")}) AND used_at_ms >= @Month AND used_at_ms <= @Now) AS used
                 WHERE @ExceptDeliveryId IS NULL OR delivery_id <> @ExceptDeliveryId
                 GROUP BY consent_id, delivery_id) AS deliveries
         GROUP BY consent_id;
        """;

    /// <summary>Holds the consents until the transaction ends (SQL Server; SQLite's write transaction holds the whole database).</summary>
    public static string LockConsents(SqlDialect dialect) =>
        $"SELECT id FROM consent_artefact{dialect.UpdateLock} WHERE id IN ({dialect.TextsIn("@Ids")});";

    /// <summary>A use of a frequency-limited consent by a delivery, once however many of its pages are checked.</summary>
    public static string ReserveUse => """
        INSERT INTO frequency_use (consent_id, delivery_id, used_at_ms)
        SELECT @ConsentId, @DeliveryId, @At
         WHERE NOT EXISTS (SELECT 1 FROM frequency_use WHERE consent_id = @ConsentId AND delivery_id = @DeliveryId);
        """;

    public static string DueForExpiry(SqlDialect dialect) => dialect.Page(
        $"SELECT {ArtefactColumns} FROM consent_artefact WHERE status IN (1, 2) AND valid_until_ms <= @Now ORDER BY valid_until_ms", "@Limit");

    public static string OpenForSubject =>
        $"SELECT {ArtefactColumns} FROM consent_artefact WHERE subject_id = @SubjectId AND controller_id = @ControllerId AND status IN (1, 2);";

    // ---- registry ------------------------------------------------------------------------------

    public static string Purposes => "SELECT id AS Id, display_name AS DisplayName, description AS Description FROM purpose ORDER BY id;";

    public static string Categories =>
        "SELECT id AS Id, parent_id AS ParentId, display_name AS DisplayName, sensitive AS Sensitive, description AS Description FROM data_category ORDER BY id;";

    // ---- known organisations -------------------------------------------------------------------

    public static string GetOrganisation =>
        "SELECT id AS Id, kind AS Kind, name AS Name, jurisdiction AS Jurisdiction, version AS Version FROM known_organisation WHERE id = @Id;";

    /// <summary>Inserts an organisation or applies a newer version of it; a stale or repeated event changes nothing.</summary>
    public static string UpsertOrganisation(SqlDialect dialect) => dialect.UpsertNewer(
        "known_organisation", "version",
        [("id", "@Id"), ("kind", "@Kind"), ("name", "@Name"), ("jurisdiction", "@Jurisdiction"), ("version", "@Version"), ("updated_at_ms", "@At")]);

    // ---- statutory mandates --------------------------------------------------------------------

    public static string MandatesForRecipient =>
        $"SELECT {MandateColumns} FROM statutory_mandate WHERE recipient_id = @RecipientId AND repealed_at_ms IS NULL;";

    public static string ListMandates(SqlDialect dialect) =>
        dialect.Page($"SELECT {MandateColumns} FROM statutory_mandate WHERE (@AfterId IS NULL OR id > @AfterId) ORDER BY id", "@Limit");

    /// <summary>
    /// Inserts a mandate or applies a newer version of it, in one statement; a stale or repeated event
    /// changes nothing, and neither does any enactment once the mandate is repealed (its tombstone too).
    /// </summary>
    public static string UpsertMandate(SqlDialect dialect) => dialect.UpsertNewer(
        "statutory_mandate", "version",
        [
            ("id", "@Id"), ("legal_reference", "@LegalReference"), ("recipient_id", "@RecipientId"), ("purposes", "@Purposes"),
            ("data_categories", "@DataCategories"), ("valid_from_ms", "@ValidFrom"), ("valid_until_ms", "@ValidUntil"),
            ("repealed_at_ms", "NULL"), ("version", "@Version"), ("enacted_at_ms", "@At"),
        ],
        insertOnly: ["repealed_at_ms", "enacted_at_ms"],
        finalOnceSet: "repealed_at_ms");

    /// <summary>
    /// Marks a mandate repealed, in one statement. A repeal that overtakes its enactment leaves a
    /// repealed tombstone (the enactment's columns empty), so the late enactment stays repealed.
    /// </summary>
    public static string RepealMandate(SqlDialect dialect) => dialect.UpsertNewer(
        "statutory_mandate", "version",
        [
            ("id", "@Id"), ("legal_reference", "''"), ("recipient_id", "''"), ("purposes", "''"), ("data_categories", "''"),
            ("valid_from_ms", "@RepealedAt"), ("valid_until_ms", "NULL"), ("repealed_at_ms", "@RepealedAt"), ("version", "@Version"), ("enacted_at_ms", "@At"),
        ],
        insertOnly: ["legal_reference", "recipient_id", "purposes", "data_categories", "valid_from_ms", "valid_until_ms", "enacted_at_ms"]);

    // ---- disclosures ---------------------------------------------------------------------------

    /// <summary>One disclosure unless the same delivery already reported the subject (pages of one delivery name a subject once).</summary>
    public static string InsertDisclosureIfAbsent => """
        INSERT INTO disclosure (delivery_id, subject_id, controller_id, recipient_id, purpose_id, data_categories, consent_id, mandate_id, disclosed_at_ms, audit_sequence)
        SELECT @DeliveryId, @SubjectId, @ControllerId, @RecipientId, @Purpose, @DataCategories, @ConsentId, @MandateId, @DisclosedAt, @AuditSequence
         WHERE NOT EXISTS (SELECT 1 FROM disclosure WHERE delivery_id = @DeliveryId AND subject_id = @SubjectId);
        """;

    public static string InsertDisclosure => """
        INSERT INTO disclosure (delivery_id, subject_id, controller_id, recipient_id, purpose_id, data_categories, consent_id, mandate_id, disclosed_at_ms, audit_sequence)
        VALUES (@DeliveryId, @SubjectId, @ControllerId, @RecipientId, @Purpose, @DataCategories, @ConsentId, @MandateId, @DisclosedAt, @AuditSequence);
        """;

    public static string ListDisclosures(SqlDialect dialect, bool byController, bool afterKey) => dialect.Page(
        $"""
        SELECT delivery_id AS DeliveryId, subject_id AS SubjectId, controller_id AS ControllerId, recipient_id AS RecipientId,
               purpose_id AS Purpose, data_categories AS DataCategories, consent_id AS ConsentId, mandate_id AS MandateId,
               disclosed_at_ms AS DisclosedAtMs, audit_sequence AS AuditSequence
          FROM disclosure
         WHERE subject_id = @SubjectId
           {(byController ? "AND controller_id = @ControllerId" : "")}
           {(afterKey ? "AND (disclosed_at_ms < @AfterAt OR (disclosed_at_ms = @AfterAt AND delivery_id < @AfterId))" : "")}
         ORDER BY disclosed_at_ms DESC, delivery_id DESC
        """, "@Limit");

    // ---- erasure -------------------------------------------------------------------------------

    public static string InsertErasure => """
        INSERT INTO erasure_request (id, subject_id, controller_id, status, created_at_ms, completed_at_ms, erased_record_count, revoked_consent_count)
        VALUES (@Id, @SubjectId, @ControllerId, 1, @CreatedAt, NULL, 0, @RevokedConsentCount);
        """;

    public static string GetErasure => """
        SELECT id AS Id, subject_id AS SubjectId, controller_id AS ControllerId, status AS Status, created_at_ms AS CreatedAtMs,
               completed_at_ms AS CompletedAtMs, erased_record_count AS ErasedRecordCount, revoked_consent_count AS RevokedConsentCount
          FROM erasure_request WHERE id = @Id;
        """;

    public static string CompleteErasure => """
        UPDATE erasure_request
           SET status = 2, completed_at_ms = COALESCE(completed_at_ms, @CompletedAt), erased_record_count = erased_record_count + @Erased
         WHERE id = @Id;
        """;
}
