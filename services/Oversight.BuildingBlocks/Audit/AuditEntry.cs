namespace Oversight.BuildingBlocks.Audit;

/// <summary>
/// What a module records about one audited action. The subject is given raw and replaced by its
/// <see cref="SubjectReference"/> before anything is stored; the detail holds names and values that
/// are not personal data.
/// </summary>
public sealed record AuditRecord(
    string ActorId,
    string ActorKind,
    string Action,
    string Resource,
    string Outcome,
    string Reason = "",
    string? SubjectId = null,
    IReadOnlyDictionary<string, string>? Detail = null);

/// <summary>Conventions of an entry's detail that the log's readers rely on.</summary>
public static class AuditRecords
{
    /// <summary>
    /// The detail key naming, space-separated, the organisations besides the actor that an entry concerns
    /// (a delivery's recipient and the platforms whose data it carried): each may read the entry by its
    /// position, with its proof, as the actor may.
    /// </summary>
    public const string Parties = "parties";

    public static bool NamesParty(IReadOnlyDictionary<string, string> detail, string organisationId) =>
        detail.TryGetValue(Parties, out var parties) && parties.Split(' ').Contains(organisationId, StringComparer.Ordinal);
}

/// <summary>The outcomes modules record; a plain string in the log, so a new one needs no migration.</summary>
public static class AuditOutcomes
{
    public const string Succeeded = "succeeded";
    public const string Refused = "refused";
    public const string Failed = "failed";
}

/// <summary>One entry as stored: its columns, its canonical bytes and its leaf hash.</summary>
public sealed record AuditEntry(
    long Sequence,
    DateTimeOffset RecordedAt,
    string ActorId,
    string ActorKind,
    string Action,
    string Resource,
    string Outcome,
    string Reason,
    string? SubjectRef,
    IReadOnlyDictionary<string, string> Detail,
    byte[] CanonicalBytes,
    byte[] LeafHash);
