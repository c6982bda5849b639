using System.Globalization;

namespace Oversight.Consent.Model;

/// <summary>
/// A freshness marker, like Zanzibar's zookie: the sequence number of the newest consent change a
/// write produced or a read reflected. A check that presents one answers from a state at least
/// that new. Opaque to callers: <c>ct1.</c> followed by the sequence.
/// </summary>
public static class ConsistencyToken
{
    private const string Prefix = "ct1.";

    public static string Format(long sequence) => Prefix + sequence.ToString(CultureInfo.InvariantCulture);

    /// <summary>Parses a token; an empty token means "no requirement" (0).</summary>
    public static bool TryParse(string token, out long sequence)
    {
        sequence = 0;
        if (string.IsNullOrEmpty(token))
        {
            return true;
        }

        return token.StartsWith(Prefix, StringComparison.Ordinal)
            && long.TryParse(token.AsSpan(Prefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out sequence)
            && sequence >= 0;
    }
}
