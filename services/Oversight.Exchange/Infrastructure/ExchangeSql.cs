using Oversight.BuildingBlocks.Data;

namespace Oversight.Exchange.Infrastructure;

/// <summary>The Exchange module's SQL, in the subset SQLite and SQL Server share.</summary>
[SqlStatements]
public static class ExchangeSql
{
    private const string DatasetColumns = """
        id AS Id, owner_id AS OwnerId, name AS Name, data_category AS DataCategory, fields AS Fields, description AS Description,
        state AS State, published_at_ms AS PublishedAtMs, retired_at_ms AS RetiredAtMs, record_count AS RecordCount, version AS Version
        """;

    public static string GetDataset => $"SELECT {DatasetColumns} FROM dataset WHERE id = @Id;";

    public static string GetDatasets => $"SELECT {DatasetColumns} FROM dataset WHERE id IN @Ids;";

    public static string DatasetsOwnedBy => $"SELECT {DatasetColumns} FROM dataset WHERE owner_id = @OwnerId ORDER BY id;";

    public static string InsertDataset => """
        INSERT INTO dataset (id, owner_id, name, data_category, fields, description, search_text, state, published_at_ms, retired_at_ms, record_count, version)
        VALUES (@Id, @OwnerId, @Name, @DataCategory, @Fields, @Description, @SearchText, 1, @At, NULL, 0, 1);
        """;

    /// <summary>Optimistic concurrency: only a published dataset at the version read is retired.</summary>
    public static string RetireDataset => """
        UPDATE dataset SET state = 2, retired_at_ms = @At, version = version + 1
         WHERE id = @Id AND state = 1 AND version = @ExpectedVersion;
        """;

    public static string AddToRecordCount => "UPDATE dataset SET record_count = record_count + @Delta WHERE id = @Id;";

    /// <summary>
    /// The catalog by name then id, from after (@AfterName, @AfterId). Each filter is off when its
    /// parameter is NULL; the category filter takes the category and everything below it (@CategoryPrefix
    /// is the category and a dot, with LIKE's wildcards escaped), the search a lower-cased LIKE pattern.
    /// </summary>
    public static string ListDatasets(SqlDialect dialect) => dialect.Page($"""
        SELECT {DatasetColumns} FROM dataset
         WHERE (name > @AfterName OR (name = @AfterName AND id > @AfterId))
           AND (@OwnerId IS NULL OR owner_id = @OwnerId)
           AND (@Category IS NULL OR data_category = @Category OR data_category LIKE @CategoryPrefix ESCAPE '\')
           AND (@Pattern IS NULL OR search_text LIKE @Pattern ESCAPE '\')
           AND (@IncludeRetired = 1 OR state = 1)
         ORDER BY name, id
        """, "@Limit");

    // ---- read models of Governance's events ----------------------------------------------------

    private const string AllianceColumns = """
        id AS AllianceId, institution_id AS InstitutionId, standing AS Standing, purposes AS Purposes, data_categories AS DataCategories,
        fields AS Fields, identified_data AS IdentifiedData, max_retention_ms AS MaxRetentionMs, valid_from_ms AS ValidFromMs,
        valid_until_ms AS ValidUntilMs, version AS Version
        """;

    public static string AlliancesOf => $"SELECT {AllianceColumns} FROM known_alliance WHERE institution_id = @InstitutionId;";

    public static string GetAlliance => $"SELECT {AllianceColumns} FROM known_alliance WHERE id = @Id;";

    /// <summary>An alliance with its scope (activated, resumed), unless a newer version is known.</summary>
    public static string UpsertAlliance(SqlDialect dialect) => dialect.UpsertNewer(
        "known_alliance", "version",
        [
            ("id", "@Id"), ("institution_id", "@InstitutionId"), ("standing", "@Standing"), ("purposes", "@Purposes"), ("data_categories", "@DataCategories"),
            ("fields", "@Fields"), ("identified_data", "@IdentifiedData"), ("max_retention_ms", "@MaxRetentionMs"), ("valid_from_ms", "@ValidFromMs"),
            ("valid_until_ms", "@ValidUntilMs"), ("version", "@Version"),
        ]);

    /// <summary>
    /// An alliance's standing alone (suspended, terminated, expired), unless a newer version is known. An
    /// alliance not seen yet is kept with an empty scope, so its older activation arriving late cannot open it.
    /// </summary>
    public static string UpsertAllianceStanding(SqlDialect dialect) => dialect.UpsertNewer(
        "known_alliance", "version",
        [
            ("id", "@Id"), ("institution_id", "@InstitutionId"), ("standing", "@Standing"), ("purposes", "'[]'"), ("data_categories", "'[]'"),
            ("fields", "'[]'"), ("identified_data", "0"), ("max_retention_ms", "0"), ("valid_from_ms", "0"), ("valid_until_ms", "0"), ("version", "@Version"),
        ],
        insertOnly: ["purposes", "data_categories", "fields", "identified_data", "max_retention_ms", "valid_from_ms", "valid_until_ms"]);

    public static string GetExchangeStanding => "SELECT frozen AS Frozen, reason AS Reason, version AS Version FROM exchange_standing WHERE id = 1;";

    /// <summary>A freeze or unfreeze, unless a newer order is known.</summary>
    public static string SetExchangeStanding => "UPDATE exchange_standing SET frozen = @Frozen, reason = @Reason, version = @Version WHERE id = 1 AND version < @Version;";

    // ---- the vault -----------------------------------------------------------------------------

    public static string GetDataKey => """
        SELECT dataset_id AS DatasetId, master_key_id AS MasterKeyId, wrapped_key AS WrappedKey, version AS Version
          FROM vault_data_key WHERE dataset_id = @DatasetId;
        """;

    public static string InsertDataKey => """
        INSERT INTO vault_data_key (dataset_id, master_key_id, wrapped_key, created_at_ms, wrapped_at_ms, version)
        VALUES (@DatasetId, @MasterKeyId, @WrappedKey, @At, @At, 1);
        """;

    /// <summary>The data keys not wrapped by the active master key, a page at a time.</summary>
    public static string DataKeysToRewrap(SqlDialect dialect) => dialect.Page("""
        SELECT dataset_id AS DatasetId, master_key_id AS MasterKeyId, wrapped_key AS WrappedKey, version AS Version
          FROM vault_data_key WHERE master_key_id <> @ActiveKeyId AND dataset_id > @AfterId ORDER BY dataset_id
        """, "@Limit");

    /// <summary>Optimistic concurrency: two replicas re-wrapping at once both succeed or one finds it done.</summary>
    public static string RewrapDataKey => """
        UPDATE vault_data_key SET master_key_id = @MasterKeyId, wrapped_key = @WrappedKey, wrapped_at_ms = @At, version = version + 1
         WHERE dataset_id = @DatasetId AND version = @ExpectedVersion;
        """;

    /// <summary>A subject's records in one dataset, found by the dataset's blind index of the subject.</summary>
    public static string EraseSubject => "DELETE FROM vault_record WHERE dataset_id = @DatasetId AND subject_ref = @SubjectRef;";

    public static string StoredMacs(SqlDialect dialect) =>
        $"SELECT record_key AS RecordKey, content_mac AS ContentMac FROM vault_record WHERE dataset_id = @DatasetId AND record_key IN ({dialect.TextsIn("@Keys")});";

    public static string InsertRecord => """
        INSERT INTO vault_record (dataset_id, record_key, subject_ref, occurred_at_ms, sealed, content_mac, stored_at_ms)
        VALUES (@DatasetId, @RecordKey, @SubjectRef, @OccurredAtMs, @Sealed, @ContentMac, @At);
        """;

    public static string ReplaceRecord => """
        UPDATE vault_record SET subject_ref = @SubjectRef, occurred_at_ms = @OccurredAtMs, sealed = @Sealed, content_mac = @ContentMac, stored_at_ms = @At
         WHERE dataset_id = @DatasetId AND record_key = @RecordKey;
        """;

    private const string UploadColumns = """
        owner_id AS OwnerId, upload_id AS UploadId, dataset_id AS DatasetId, state AS State, batches AS Batches, accepted AS Accepted,
        replaced AS Replaced, unchanged AS Unchanged, rejected AS Rejected, rejections AS Rejections, started_at_ms AS StartedAtMs,
        completed_at_ms AS CompletedAtMs
        """;

    public static string GetUpload => $"SELECT {UploadColumns} FROM vault_upload WHERE owner_id = @OwnerId AND upload_id = @UploadId;";

    public static string InsertUpload => """
        INSERT INTO vault_upload (owner_id, upload_id, dataset_id, state, batches, accepted, replaced, unchanged, rejected, rejections, started_at_ms, completed_at_ms)
        VALUES (@OwnerId, @UploadId, @DatasetId, 1, 0, 0, 0, 0, 0, '[]', @At, NULL);
        """;

    /// <summary>
    /// One batch's counts, added to the stored ones in the batch's transaction (so two streams of one
    /// upload both count); only while the upload is receiving.
    /// </summary>
    public static string CountBatch => """
        UPDATE vault_upload SET batches = batches + 1, accepted = accepted + @Accepted, replaced = replaced + @Replaced,
               unchanged = unchanged + @Unchanged, rejected = rejected + @Rejected
         WHERE owner_id = @OwnerId AND upload_id = @UploadId AND state = 1;
        """;

    /// <summary>The rejections kept, written after <see cref="CountBatch"/> locked the row and the stored ones were read back.</summary>
    public static string KeepRejections => "UPDATE vault_upload SET rejections = @Rejections WHERE owner_id = @OwnerId AND upload_id = @UploadId;";

    public static string CompleteUpload => "UPDATE vault_upload SET state = 2, completed_at_ms = @At WHERE owner_id = @OwnerId AND upload_id = @UploadId AND state = 1;";

    // ---- requests ------------------------------------------------------------------------------

    private const string RequestColumns = """
        id AS Id, institution_id AS InstitutionId, dataset_ids AS DatasetIds, purpose AS Purpose, fields AS Fields, subject_count AS SubjectCount,
        occur_after_ms AS OccurAfterMs, occur_before_ms AS OccurBeforeMs, state AS State, rejections AS Rejections, alliance_id AS AllianceId,
        alliance_version AS AllianceVersion, rules_version AS RulesVersion, identified AS Identified, decided_at_ms AS DecidedAtMs,
        audit_sequence AS AuditSequence
        """;

    public static string GetRequest => $"SELECT {RequestColumns} FROM data_request WHERE id = @Id;";

    public static string InsertRequest => """
        INSERT INTO data_request (id, institution_id, dataset_ids, purpose, fields, subject_count, occur_after_ms, occur_before_ms, state, rejections,
                                  alliance_id, alliance_version, rules_version, identified, decided_at_ms, audit_sequence)
        VALUES (@Id, @InstitutionId, @DatasetIds, @Purpose, @Fields, @SubjectCount, @OccurAfterMs, @OccurBeforeMs, @State, @Rejections,
                @AllianceId, @AllianceVersion, @RulesVersion, @Identified, @DecidedAtMs, @AuditSequence);
        """;

    public static string InsertRequestSubject => "INSERT INTO data_request_subject (data_request_id, dataset_id, subject_ref) VALUES (@RequestId, @DatasetId, @SubjectRef);";

    /// <summary>Newest first (ids are time-ordered UUIDs), from before @BeforeId; filters off when NULL.</summary>
    public static string ListRequests(SqlDialect dialect) => dialect.Page($"""
        SELECT {RequestColumns} FROM data_request
         WHERE (@BeforeId IS NULL OR id < @BeforeId)
           AND (@InstitutionId IS NULL OR institution_id = @InstitutionId)
           AND (@State IS NULL OR state = @State)
         ORDER BY id DESC
        """, "@Limit");

    /// <summary>
    /// The next records of one dataset for a delivery, by record key after @AfterKey. A request limited
    /// to subjects reads only theirs; a time range only records within it (either bound off when NULL).
    /// </summary>
    public static string DeliveryRecords(SqlDialect dialect, bool bySubjects) => dialect.Page($"""
        SELECT r.record_key AS RecordKey, r.sealed AS Sealed
          FROM vault_record r
         WHERE r.dataset_id = @DatasetId AND r.record_key > @AfterKey
           AND (@OccurAfterMs IS NULL OR r.occurred_at_ms >= @OccurAfterMs)
           AND (@OccurBeforeMs IS NULL OR r.occurred_at_ms < @OccurBeforeMs)
           {(bySubjects ? "AND EXISTS (SELECT 1 FROM data_request_subject s WHERE s.data_request_id = @RequestId AND s.dataset_id = r.dataset_id AND s.subject_ref = r.subject_ref)" : "")}
         ORDER BY r.record_key
        """, "@Limit");

    // ---- deliveries ----------------------------------------------------------------------------

    /// <summary>A delivery's columns, of the table as <c>d</c> (a platform's share has columns of the same names).</summary>
    private const string DeliveryColumns = """
        d.id AS Id, d.data_request_id AS DataRequestId, d.recipient_id AS RecipientId, d.state AS State, d.stop_reason AS StopReason, d.pages AS Pages,
        d.delivered AS Delivered, d.withheld AS Withheld, d.started_at_ms AS StartedAtMs, d.retention_deadline_ms AS RetentionDeadlineMs,
        d.purge_attested_at_ms AS PurgeAttestedAtMs, d.purged_at_ms AS PurgedAtMs, d.purge_statement AS PurgeStatement, d.version AS Version
        """;

    public static string GetDelivery => $"SELECT {DeliveryColumns} FROM delivery d WHERE d.id = @Id;";

    public static string DeliveryControllers => """
        SELECT delivery_id AS DeliveryId, controller_id AS ControllerId, delivered AS Delivered, withheld AS Withheld, retention_deadline_ms AS RetentionDeadlineMs
          FROM delivery_controller WHERE delivery_id IN @Ids;
        """;

    /// <summary>One platform's share of a delivery, written with each page of its data (and on a resume), in the page's transaction.</summary>
    public static string UpdateDeliveryShare => """
        UPDATE delivery_controller SET delivered = @Delivered, withheld = @Withheld, retention_deadline_ms = @RetentionDeadlineMs
         WHERE delivery_id = @DeliveryId AND controller_id = @ControllerId;
        """;

    public static string InsertDelivery => """
        INSERT INTO delivery (id, data_request_id, recipient_id, state, stop_reason, pages, delivered, withheld, started_at_ms, retention_deadline_ms,
                              purge_attested_at_ms, purged_at_ms, purge_statement, version)
        VALUES (@Id, @DataRequestId, @RecipientId, 1, '', 0, 0, '{}', @At, NULL, NULL, NULL, NULL, 1);
        """;

    public static string InsertDeliveryController => "INSERT INTO delivery_controller (delivery_id, controller_id) VALUES (@DeliveryId, @ControllerId);";

    /// <summary>A delivery's totals and state, written with each page and at its end, under its version.</summary>
    public static string UpdateDelivery => """
        UPDATE delivery SET state = @State, stop_reason = @StopReason, pages = @Pages, delivered = @Delivered, withheld = @Withheld,
               retention_deadline_ms = @RetentionDeadlineMs, version = version + 1
         WHERE id = @Id AND version = @ExpectedVersion;
        """;

    public static string AttestPurge => """
        UPDATE delivery SET purge_attested_at_ms = @At, purged_at_ms = @PurgedAt, purge_statement = @Statement, version = version + 1
         WHERE id = @Id AND purge_attested_at_ms IS NULL AND version = @ExpectedVersion;
        """;

    public static string DeliveryPagesUpTo => """
        SELECT page_number AS PageNumber, dataset_index AS DatasetIndex, last_record_key AS LastRecordKey, delivered AS Delivered, withheld AS Withheld,
               retention_deadline_ms AS RetentionDeadlineMs, audit_sequence AS AuditSequence
          FROM delivery_page WHERE delivery_id = @DeliveryId AND page_number <= @PageNumber ORDER BY page_number;
        """;

    public static string InsertDeliveryPage => """
        INSERT INTO delivery_page (delivery_id, page_number, dataset_index, last_record_key, delivered, withheld, retention_deadline_ms, audit_sequence, sent_at_ms)
        VALUES (@DeliveryId, @PageNumber, @DatasetIndex, @LastRecordKey, @Delivered, @Withheld, @RetentionDeadlineMs, @AuditSequence, @At);
        """;

    /// <summary>Pages sent after the one a resumed delivery goes on from: they are sent again (and recorded again).</summary>
    public static string DeletePagesAfter => "DELETE FROM delivery_page WHERE delivery_id = @DeliveryId AND page_number > @PageNumber;";

    /// <summary>
    /// Deliveries newest first, from before @BeforeId: a recipient's (@RecipientId), a platform's data
    /// (@ControllerId), one request's (@RequestId), or all; each filter off when NULL.
    /// </summary>
    public static string ListDeliveries(SqlDialect dialect) => dialect.Page($"""
        SELECT {DeliveryColumns} FROM delivery d
         WHERE (@BeforeId IS NULL OR d.id < @BeforeId)
           AND (@RecipientId IS NULL OR d.recipient_id = @RecipientId)
           AND (@RequestId IS NULL OR d.data_request_id = @RequestId)
           AND (@ControllerId IS NULL OR EXISTS (SELECT 1 FROM delivery_controller c WHERE c.delivery_id = d.id AND c.controller_id = @ControllerId))
         ORDER BY d.id DESC
        """, "@Limit");

    /// <summary>
    /// Deliveries past their retention deadline (before @Now) without an attestation, oldest deadline
    /// first, after (@AfterDeadline, @AfterId): all of them, or those of one platform's data by the
    /// deadline of its own share (@ControllerId).
    /// </summary>
    public static string ListOverdue(SqlDialect dialect, bool ofController) => ofController
        ? dialect.Page($"""
            SELECT {DeliveryColumns} FROM delivery d
              JOIN delivery_controller c ON c.delivery_id = d.id AND c.controller_id = @ControllerId
             WHERE d.purge_attested_at_ms IS NULL AND c.retention_deadline_ms < @Now
               AND (c.retention_deadline_ms > @AfterDeadline OR (c.retention_deadline_ms = @AfterDeadline AND d.id > @AfterId))
             ORDER BY c.retention_deadline_ms, d.id
            """, "@Limit")
        : dialect.Page($"""
            SELECT {DeliveryColumns} FROM delivery d
             WHERE d.purge_attested_at_ms IS NULL AND d.retention_deadline_ms < @Now
               AND (d.retention_deadline_ms > @AfterDeadline OR (d.retention_deadline_ms = @AfterDeadline AND d.id > @AfterId))
             ORDER BY d.retention_deadline_ms, d.id
            """, "@Limit");
}
