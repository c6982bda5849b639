using Oversight.BuildingBlocks.Data;

namespace Oversight.Governance.Infrastructure;

/// <summary>The Governance module's SQL, in the subset SQLite and SQL Server share.</summary>
[SqlStatements]
public static class GovernanceSql
{
    private const string OrganisationColumns = """
        id AS Id, kind AS Kind, name AS Name, jurisdiction AS Jurisdiction, affiliations AS Affiliations,
        created_at_ms AS CreatedAtMs, updated_at_ms AS UpdatedAtMs, version AS Version
        """;

    public static string GetOrganisation => $"SELECT {OrganisationColumns} FROM organisation WHERE id = @Id;";

    public static string CountOrganisations => "SELECT COUNT(*) FROM organisation WHERE id IN @Ids;";

    public static string ListOrganisations(SqlDialect dialect, bool byKind) => dialect.Page(
        $"SELECT {OrganisationColumns} FROM organisation WHERE id > @AfterId{(byKind ? " AND kind = @Kind" : "")} ORDER BY id", "@Limit");

    public static string InsertOrganisation => """
        INSERT INTO organisation (id, kind, name, jurisdiction, affiliations, created_at_ms, updated_at_ms, version)
        VALUES (@Id, @Kind, @Name, @Jurisdiction, @Affiliations, @At, @At, 1);
        """;

    /// <summary>Optimistic concurrency: only the version read may be changed.</summary>
    public static string UpdateOrganisation => """
        UPDATE organisation SET name = @Name, jurisdiction = @Jurisdiction, affiliations = @Affiliations, updated_at_ms = @At, version = version + 1
         WHERE id = @Id AND version = @ExpectedVersion;
        """;

    public static string AppendAudit => """
        INSERT INTO governance_audit (at_ms, actor_id, actor_kind, action, target, detail)
        VALUES (@At, @ActorId, @ActorKind, @Action, @Target, @Detail);
        """;

    // ---- regulator orders ----------------------------------------------------------------------

    private const string MandateColumns = """
        id AS Id, legal_reference AS LegalReference, recipient_id AS RecipientId, purposes AS Purposes, data_categories AS DataCategories,
        valid_from_ms AS ValidFromMs, valid_until_ms AS ValidUntilMs, enacted_at_ms AS EnactedAtMs, repealed_at_ms AS RepealedAtMs,
        repeal_reason AS RepealReason, version AS Version
        """;

    public static string GetMandate => $"SELECT {MandateColumns} FROM statutory_mandate WHERE id = @Id;";

    /// <summary>Mandate ids are UUIDv7, so id order is enactment order.</summary>
    public static string ListMandates(SqlDialect dialect) =>
        dialect.Page($"SELECT {MandateColumns} FROM statutory_mandate WHERE id > @AfterId ORDER BY id", "@Limit");

    public static string InsertMandate => """
        INSERT INTO statutory_mandate (id, legal_reference, recipient_id, purposes, data_categories, valid_from_ms, valid_until_ms,
            enacted_at_ms, repealed_at_ms, repeal_reason, version)
        VALUES (@Id, @LegalReference, @RecipientId, @Purposes, @DataCategories, @ValidFrom, @ValidUntil, @At, NULL, NULL, 1);
        """;

    /// <summary>Repeals only a mandate still in force; a second repeal changes nothing.</summary>
    public static string RepealMandate => """
        UPDATE statutory_mandate SET repealed_at_ms = @At, repeal_reason = @Reason, version = version + 1
         WHERE id = @Id AND repealed_at_ms IS NULL;
        """;

    public static string GetExchangeStatus =>
        "SELECT frozen AS Frozen, reason AS Reason, order_id AS OrderId, updated_at_ms AS UpdatedAtMs, version AS Version FROM exchange_status WHERE id = 1;";

    /// <summary>Optimistic concurrency on the one row.</summary>
    public static string SetExchangeStatus => """
        UPDATE exchange_status SET frozen = @Frozen, reason = @Reason, order_id = @OrderId, updated_at_ms = @At, version = version + 1
         WHERE id = 1 AND version = @ExpectedVersion;
        """;

    public static string ListAudit(SqlDialect dialect) => dialect.Page(
        """
        SELECT sequence AS Sequence, at_ms AS AtMs, actor_id AS ActorId, actor_kind AS ActorKind, action AS Action, target AS Target, detail AS Detail
          FROM governance_audit WHERE (@Before IS NULL OR sequence < @Before) ORDER BY sequence DESC
        """, "@Limit");

    // ---- founding and the share ledger ---------------------------------------------------------

    public static string InsertVenture => "INSERT INTO venture (id, founded_at_ms, founded_by) VALUES (1, @At, @By);";

    public static string GetVenture => "SELECT founded_at_ms FROM venture WHERE id = 1;";

    public static string InsertShareClass => """
        INSERT INTO share_class (id, kind, votes_per_share, authorised, transferable)
        VALUES (@Id, @Kind, @VotesPerShare, @Authorised, @Transferable);
        """;

    public static string ShareClasses => """
        SELECT id AS Id, kind AS Kind, votes_per_share AS VotesPerShare, authorised AS Authorised, transferable AS Transferable
          FROM share_class ORDER BY id;
        """;

    private const string LedgerColumns = """
        sequence AS Sequence, entry_kind AS Kind, class_id AS ClassId, from_holder_id AS FromHolderId, to_holder_id AS ToHolderId,
        quantity AS Quantity, recorded_at_ms AS RecordedAtMs, reason AS Reason
        """;

    /// <summary>The whole ledger up to a point: holdings are derived by replaying it.</summary>
    public static string LedgerUpTo => $"SELECT {LedgerColumns} FROM share_ledger WHERE sequence <= @AsOf ORDER BY sequence;";

    public static string ListLedger(SqlDialect dialect) =>
        dialect.Page($"SELECT {LedgerColumns} FROM share_ledger WHERE sequence > @After ORDER BY sequence", "@Limit");

    public static string LedgerVersion => "SELECT ledger_version FROM venture WHERE id = 1;";

    /// <summary>Every ledger append bumps the version it read; a concurrent append makes this change nothing.</summary>
    public static string BumpLedgerVersion => "UPDATE venture SET ledger_version = ledger_version + 1 WHERE id = 1 AND ledger_version = @Expected;";

    public static string AppendLedgerEntryReturning(SqlDialect dialect) => dialect.InsertReturning(
        "share_ledger",
        "entry_kind, class_id, from_holder_id, to_holder_id, quantity, recorded_at_ms, reason",
        "@Kind, @ClassId, @FromHolderId, @ToHolderId, @Quantity, @At, @Reason",
        "sequence");

    private const string TransferColumns = """
        id AS Id, class_id AS ClassId, seller_id AS SellerId, buyer_id AS BuyerId, quantity AS Quantity, state AS State,
        approval_reason AS ApprovalReason, requested_at_ms AS RequestedAtMs, decided_at_ms AS DecidedAtMs, decision_reason AS DecisionReason,
        ledger_sequence AS LedgerSequence, version AS Version
        """;

    public static string GetTransfer => $"SELECT {TransferColumns} FROM share_transfer WHERE id = @Id;";

    public static string InsertTransfer => """
        INSERT INTO share_transfer (id, class_id, seller_id, buyer_id, quantity, state, approval_reason, requested_at_ms, decided_at_ms,
            decision_reason, ledger_sequence, version)
        VALUES (@Id, @ClassId, @SellerId, @BuyerId, @Quantity, @State, @ApprovalReason, @RequestedAt, @DecidedAt, @DecisionReason, @LedgerSequence, @Version);
        """;

    /// <summary>Moves a transfer out of AWAITING_REGULATOR at the version read.</summary>
    public static string DecideTransfer => """
        UPDATE share_transfer SET state = @State, decided_at_ms = @At, decision_reason = @Reason, ledger_sequence = @LedgerSequence, version = version + 1
         WHERE id = @Id AND version = @ExpectedVersion AND state = 1;
        """;
}
