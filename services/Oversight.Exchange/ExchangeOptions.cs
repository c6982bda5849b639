namespace Oversight.Exchange;

/// <summary>The Exchange module's settings, bound from <c>Oversight:Exchange</c>.</summary>
public sealed class ExchangeOptions
{
    public ConsentLinkOptions Consent { get; set; } = new();
}

/// <summary>How Exchange reaches Consent: its check on the delivery path, its registry for the vocabulary.</summary>
public sealed class ConsentLinkOptions
{
    /// <summary>Consent's gRPC address. Unset, it is this host's own Consent port (Oversight:Consent:Port, 5101) on the listen address.</summary>
    public string Address { get; set; } = "http://127.0.0.1:5101";

    /// <summary>How long a batch check may take before the delivery fails closed.</summary>
    public TimeSpan CheckDeadline { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How long a registry read (taxonomy, purposes) may take.</summary>
    public TimeSpan RegistryDeadline { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How long the taxonomy and purposes read from Consent are used before they are read again.</summary>
    public TimeSpan VocabularyRefresh { get; set; } = TimeSpan.FromMinutes(5);
}
