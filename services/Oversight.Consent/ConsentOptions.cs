using Oversight.Consent.Model;

namespace Oversight.Consent;

/// <summary>The Consent module's settings, bound from <c>Oversight:Consent</c>.</summary>
public sealed class ConsentOptions
{
    public ConsentLimits Limits { get; set; } = new();

    /// <summary>The PEM file of the ECDSA P-256 key that signs receipts.</summary>
    public string ReceiptSigningKeyPath { get; set; } = "";

    /// <summary>
    /// Create the signing key file when it is missing — only where development keys are allowed
    /// (the Development environment, the embedded default); anywhere else the key must exist.
    /// </summary>
    public bool CreateReceiptSigningKey { get; set; } = true;

    /// <summary>PEM files of earlier public keys, still served so older receipts verify.</summary>
    public List<string> PreviousReceiptPublicKeyPaths { get; set; } = [];

    /// <summary>Connections kept open, with prepared statements, for unary checks.</summary>
    public int CheckConnections { get; set; } = Math.Max(4, 2 * Environment.ProcessorCount);

    /// <summary>How often open consents past their valid-until are marked expired (and the event sent).</summary>
    public TimeSpan ExpirySweepInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Organisations to know before Governance has announced any (the embedded default's demo
    /// parties). Governance's events update them later; a seed never overwrites an announced entry.
    /// </summary>
    public List<SeedOrganisation> SeedOrganisations { get; set; } = [];
}

public sealed class SeedOrganisation
{
    public string Id { get; set; } = "";
    public string Kind { get; set; } = "";
    public string Name { get; set; } = "";
    public string Jurisdiction { get; set; } = "";
}
