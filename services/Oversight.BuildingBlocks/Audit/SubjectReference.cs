using System.Security.Cryptography;
using System.Text;

namespace Oversight.BuildingBlocks.Audit;

/// <summary>
/// How the log names a subject: HMAC-SHA256 under the log's subject key, lowercase hex. The log never
/// holds a raw subject id, so erasing a subject never rewrites it; whoever holds the key (the
/// service, on an authorised call) can still find that subject's entries.
/// </summary>
public sealed class SubjectReference
{
    /// <summary>DEVELOPMENT ONLY: the subject key used where development keys are allowed and none is configured.</summary>
    public const string DevelopmentKey = "b3ZlcnNpZ2h0LWRldmVsb3BtZW50LWF1ZGl0LXN1YmplY3Qta2V5LW5vdC1zZWNyZXQ=";

    private readonly byte[] _key;

    public SubjectReference(byte[] key)
    {
        if (key.Length < 32)
        {
            throw new InvalidOperationException("The audit log's subject key must be at least 32 bytes.");
        }

        _key = key;
    }

    public string For(string subjectId) =>
        Convert.ToHexStringLower(HMACSHA256.HashData(_key, Encoding.UTF8.GetBytes(subjectId)));
}
