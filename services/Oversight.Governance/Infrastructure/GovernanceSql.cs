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
}
