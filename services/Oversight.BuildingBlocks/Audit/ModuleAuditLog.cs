using Oversight.BuildingBlocks.Data;

namespace Oversight.BuildingBlocks.Audit;

/// <summary>
/// One module's audit log, registered under its database type so that several modules in one
/// process never share one: append with <see cref="Log"/> in the module's transaction, read with
/// <see cref="Reader"/>, sign with <see cref="Signer"/>, keep others' checkpoints with
/// <see cref="Witness"/>, and check it with <see cref="Verifier"/>.
/// </summary>
public sealed class ModuleAuditLog<TDatabase>(
    TDatabase database, AuditLog log, CheckpointSigner signer, WitnessedCheckpoints witness, SubjectReference subjects,
    IReadOnlyList<NoteKey>? previousKeys = null)
    where TDatabase : ModuleDatabase
{
    public TDatabase Database => database;

    public AuditLog Log => log;

    public AuditLogReader Reader { get; } = new(database);

    public CheckpointSigner Signer => signer;

    public WitnessedCheckpoints Witness => witness;

    public AuditLogVerifier Verifier { get; } = new(database, signer.PublicKey, previousKeys: previousKeys);

    public SubjectReference Subjects => subjects;
}
