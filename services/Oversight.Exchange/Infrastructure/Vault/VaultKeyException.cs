namespace Oversight.Exchange.Infrastructure.Vault;

/// <summary>
/// A data key or a sealed value that does not open. The vault never hands back bytes it could not
/// authenticate, so this is the only way a wrong key, a moved value or damage shows.
/// </summary>
public sealed class VaultKeyException(string message) : Exception(message)
{
    private const int ShownLength = 80;

    /// <summary>An id as a message quotes it: cut short, since record keys and dataset ids come from callers.</summary>
    internal static string Shown(string value) => value.Length <= ShownLength ? value : string.Concat(value.AsSpan(0, ShownLength), "…");
}
