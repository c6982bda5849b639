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

    /// <summary>The oldest rows of the action audit kept before the Merkle log (carried onto it at the first start).</summary>
    public static string LegacyAudit(SqlDialect dialect) => dialect.Page("""
        SELECT sequence AS Sequence, at_ms AS AtMs, actor_id AS ActorId, actor_kind AS ActorKind, action AS Action, target AS Resource,
               'succeeded' AS Outcome, detail AS Reason
          FROM governance_audit ORDER BY sequence
        """, "@Limit");

    public static string DeleteLegacyAudit => "DELETE FROM governance_audit WHERE sequence IN @Sequences;";

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

    /// <summary>Repeals only a mandate still in force, at the version read; a second repeal changes nothing.</summary>
    public static string RepealMandate => """
        UPDATE statutory_mandate SET repealed_at_ms = @At, repeal_reason = @Reason, version = version + 1
         WHERE id = @Id AND version = @ExpectedVersion AND repealed_at_ms IS NULL;
        """;

    public static string GetExchangeStatus =>
        "SELECT frozen AS Frozen, reason AS Reason, order_id AS OrderId, updated_at_ms AS UpdatedAtMs, version AS Version FROM exchange_status WHERE id = 1;";

    /// <summary>Optimistic concurrency on the one row.</summary>
    public static string SetExchangeStatus => """
        UPDATE exchange_status SET frozen = @Frozen, reason = @Reason, order_id = @OrderId, updated_at_ms = @At, version = version + 1
         WHERE id = 1 AND version = @ExpectedVersion;
        """;

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

    public static string ListTransfers(SqlDialect dialect) => dialect.Page(
        $"SELECT {TransferColumns} FROM share_transfer WHERE (@State = 0 OR state = @State) AND (@After = '' OR id < @After) ORDER BY id DESC",
        "@Limit");

    // ---- changes of share capital --------------------------------------------------------------

    private const string CapitalChangeColumns = """
        id AS Id, proposal_id AS ProposalId, kind AS Kind, state AS State, approval_reason AS ApprovalReason, created_at_ms AS CreatedAtMs,
        decided_at_ms AS DecidedAtMs, decision_reason AS DecisionReason, ledger_sequence AS LedgerSequence, version AS Version
        """;

    public static string GetCapitalChange => $"SELECT {CapitalChangeColumns} FROM capital_change WHERE id = @Id;";

    public static string CapitalChangeIdOfProposal => "SELECT id FROM capital_change WHERE proposal_id = @ProposalId;";

    public static string ListCapitalChanges(SqlDialect dialect) => dialect.Page(
        $"SELECT {CapitalChangeColumns} FROM capital_change WHERE (@State = 0 OR state = @State) AND (@After = '' OR id < @After) ORDER BY id DESC",
        "@Limit");

    public static string CapitalChangeLines => """
        SELECT change_id AS ChangeId, holder_id AS HolderId, class_id AS ClassId, quantity AS Quantity
          FROM capital_change_line WHERE change_id IN @Ids ORDER BY change_id, holder_id;
        """;

    public static string InsertCapitalChange => """
        INSERT INTO capital_change (id, proposal_id, kind, state, approval_reason, created_at_ms, decided_at_ms, decision_reason, ledger_sequence, version)
        VALUES (@Id, @ProposalId, @Kind, @State, @ApprovalReason, @CreatedAt, @DecidedAt, @DecisionReason, @LedgerSequence, @Version);
        """;

    public static string InsertCapitalChangeLine => """
        INSERT INTO capital_change_line (change_id, holder_id, class_id, quantity) VALUES (@ChangeId, @HolderId, @ClassId, @Quantity);
        """;

    /// <summary>Moves a change out of AWAITING_REGULATOR at the version read.</summary>
    public static string DecideCapitalChange => """
        UPDATE capital_change SET state = @State, decided_at_ms = @At, decision_reason = @Reason, ledger_sequence = @LedgerSequence, version = version + 1
         WHERE id = @Id AND version = @ExpectedVersion AND state = 1;
        """;

    // ---- proposals and ballots -----------------------------------------------------------------

    private const string ProposalColumns = """
        id AS Id, category AS Category, title AS Title, action AS Action, proposer_id AS ProposerId, open_at_ms AS OpenAtMs,
        close_at_ms AS CloseAtMs, related_parties AS RelatedParties, rule_version AS RuleVersion, quorum_num AS QuorumNum,
        quorum_den AS QuorumDen, majority_num AS MajorityNum, majority_den AS MajorityDen, withdrawn_at_ms AS WithdrawnAtMs,
        outcome AS Outcome, entitled_weight AS EntitledWeight, for_weight AS ForWeight, against_weight AS AgainstWeight,
        abstain_weight AS AbstainWeight, recused AS Recused, explanation AS Explanation, tallied_at_ms AS TalliedAtMs,
        created_at_ms AS CreatedAtMs, cancelled_at_ms AS CancelledAtMs, version AS Version
        """;

    public static string GetProposal => $"SELECT {ProposalColumns} FROM proposal WHERE id = @Id;";

    public static string InsertProposal => """
        INSERT INTO proposal (id, category, title, action, proposer_id, open_at_ms, close_at_ms, related_parties, rule_version,
            quorum_num, quorum_den, majority_num, majority_den, created_at_ms, version)
        VALUES (@Id, @Category, @Title, @Action, @ProposerId, @OpenAt, @CloseAt, @RelatedParties, @RuleVersion,
            @QuorumNum, @QuorumDen, @MajorityNum, @MajorityDen, @CreatedAt, 1);
        """;

    public static string WithdrawProposal => """
        UPDATE proposal SET withdrawn_at_ms = @At, explanation = @Reason, version = version + 1
         WHERE id = @Id AND version = @ExpectedVersion AND withdrawn_at_ms IS NULL AND cancelled_at_ms IS NULL AND outcome IS NULL;
        """;

    public static string CancelProposal => """
        UPDATE proposal SET cancelled_at_ms = @At, explanation = @Reason, version = version + 1
         WHERE id = @Id AND version = @ExpectedVersion AND withdrawn_at_ms IS NULL AND cancelled_at_ms IS NULL AND outcome IS NULL;
        """;

    /// <summary>
    /// Proposals newest first, in one state (0 = any). Scheduled, open and awaiting-tally depend on
    /// the time, so they are told apart by @Now here as the model does.
    /// </summary>
    public static string ListProposals(SqlDialect dialect) => dialect.Page(
        $"""
        SELECT {ProposalColumns} FROM proposal
         WHERE (@After = '' OR id < @After)
           AND (@State = 0
             OR (@State IN (1, 2, 3) AND outcome IS NULL AND withdrawn_at_ms IS NULL AND cancelled_at_ms IS NULL
                 AND ((@State = 1 AND open_at_ms > @Now) OR (@State = 2 AND open_at_ms <= @Now AND close_at_ms > @Now)
                   OR (@State = 3 AND close_at_ms <= @Now)))
             OR (@State IN (4, 5, 6, 7) AND outcome = @State - 3)
             OR (@State = 8 AND withdrawn_at_ms IS NOT NULL)
             OR (@State = 9 AND cancelled_at_ms IS NOT NULL))
         ORDER BY id DESC
        """, "@Limit");

    public static string DueProposals(SqlDialect dialect) => dialect.Page(
        "SELECT id FROM proposal WHERE outcome IS NULL AND withdrawn_at_ms IS NULL AND cancelled_at_ms IS NULL AND close_at_ms <= @Now ORDER BY close_at_ms", "@Limit");

    public static string RecordTally => """
        UPDATE proposal SET outcome = @Outcome, entitled_weight = @Entitled, for_weight = @For, against_weight = @Against,
               abstain_weight = @Abstain, recused = @Recused, explanation = @Explanation, tallied_at_ms = @At, version = version + 1
         WHERE id = @Id AND version = @ExpectedVersion AND outcome IS NULL AND withdrawn_at_ms IS NULL AND cancelled_at_ms IS NULL;
        """;

    /// <summary>
    /// Every ballot bumps the proposal's version while the proposal is open, before the ballot row is
    /// written: the tally records its count only at the version it read (<see cref="RecordTally"/>),
    /// so a ballot committed after the tally read the ballots makes that tally change nothing (it runs
    /// again and counts it), and a ballot arriving after the tally committed finds it closed. On SQL
    /// Server the row lock this takes also serialises the ballots and the tally of one proposal.
    /// </summary>
    public static string OpenForBallot => """
        UPDATE proposal SET version = version + 1
         WHERE id = @Id AND outcome IS NULL AND withdrawn_at_ms IS NULL AND cancelled_at_ms IS NULL AND open_at_ms <= @At AND close_at_ms > @At;
        """;

    public static string InsertBallot => """
        INSERT INTO ballot (proposal_id, holder_id, choice, weight, cast_at_ms) VALUES (@ProposalId, @HolderId, @Choice, @Weight, @At);
        """;

    /// <summary>Every ballot of a proposal in casting order: the last per holder is the one counted.</summary>
    public static string Ballots =>
        "SELECT holder_id AS HolderId, choice AS Choice FROM ballot WHERE proposal_id = @ProposalId ORDER BY sequence;";

    // ---- executives ----------------------------------------------------------------------------

    private const string AppointmentColumns = """
        id AS Id, proposal_id AS ProposalId, person_name AS PersonName, role AS Role, state AS State, effective_at_ms AS EffectiveAtMs,
        ended_at_ms AS EndedAtMs, decision_reason AS DecisionReason, version AS Version
        """;

    public static string GetAppointment => $"SELECT {AppointmentColumns} FROM executive_appointment WHERE id = @Id;";

    public static string ListAppointments(SqlDialect dialect) => dialect.Page(
        $"SELECT {AppointmentColumns} FROM executive_appointment WHERE (@State = 0 OR state = @State) AND (@After = '' OR id < @After) ORDER BY id DESC",
        "@Limit");

    public static string AppointmentIdOfProposal => "SELECT id FROM executive_appointment WHERE proposal_id = @ProposalId;";

    public static string InsertAppointment => """
        INSERT INTO executive_appointment (id, proposal_id, person_name, role, state, effective_at_ms, ended_at_ms, decision_reason, version)
        VALUES (@Id, @ProposalId, @PersonName, @Role, 1, NULL, NULL, NULL, 1);
        """;

    /// <summary>Moves an appointment on at the version read.</summary>
    public static string UpdateAppointment => """
        UPDATE executive_appointment SET state = @State, effective_at_ms = @EffectiveAt, ended_at_ms = @EndedAt, decision_reason = @Reason, version = version + 1
         WHERE id = @Id AND version = @ExpectedVersion;
        """;

    /// <summary>Approved appointments in effect at a time, and those ended after it.</summary>
    public static string InOffice => $"""
        SELECT {AppointmentColumns} FROM executive_appointment
         WHERE state IN (2, 4) AND effective_at_ms IS NOT NULL AND effective_at_ms <= @At AND (ended_at_ms IS NULL OR ended_at_ms > @At)
         ORDER BY role;
        """;

    // ---- alliances -----------------------------------------------------------------------------

    private const string AllianceColumns = """
        id AS Id, proposal_id AS ProposalId, institution_id AS InstitutionId, scope AS Scope, valid_until_ms AS ValidUntilMs,
        state AS State, state_reason AS StateReason, updated_at_ms AS UpdatedAtMs, version AS Version
        """;

    public static string GetAlliance => $"SELECT {AllianceColumns} FROM alliance WHERE id = @Id;";

    public static string ListAlliances(SqlDialect dialect) => dialect.Page(
        $"SELECT {AllianceColumns} FROM alliance WHERE (@State = 0 OR state = @State) AND (@After = '' OR id < @After) ORDER BY id DESC", "@Limit");

    public static string AllianceIdOfProposal => "SELECT id FROM alliance WHERE proposal_id = @ProposalId;";

    public static string InsertAlliance => """
        INSERT INTO alliance (id, proposal_id, institution_id, scope, valid_until_ms, state, state_reason, updated_at_ms, version)
        VALUES (@Id, @ProposalId, @InstitutionId, @Scope, @ValidUntil, 1, NULL, @At, 1);
        """;

    /// <summary>Moves an alliance on at the version read.</summary>
    public static string UpdateAlliance => """
        UPDATE alliance SET state = @State, state_reason = @Reason, updated_at_ms = @At, version = version + 1
         WHERE id = @Id AND version = @ExpectedVersion;
        """;

    public static string AlliancesDueForExpiry(SqlDialect dialect) => dialect.Page(
        "SELECT id FROM alliance WHERE state IN (1, 2, 3) AND valid_until_ms <= @Now ORDER BY valid_until_ms", "@Limit");
}
