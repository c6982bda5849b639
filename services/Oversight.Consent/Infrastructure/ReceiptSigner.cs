using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Oversight.Consent.Infrastructure;

/// <summary>A public key that verifies receipts, in JWK terms.</summary>
public sealed record ReceiptPublicKey(string KeyId, string X, string Y, string Pem);

/// <summary>
/// Signs consent receipts as compact JWS with ECDSA P-256 (ES256, RFC 7515/7518) and serves the
/// public keys. The signing key is a PEM file: configured in production, created on first start in
/// the data folder for the embedded default. Older public keys stay listed so earlier receipts
/// still verify after a rotation.
/// </summary>
public sealed class ReceiptSigner : IDisposable
{
    private readonly ECDsa _key;

    public ReceiptSigner(ECDsa key, IEnumerable<ECDsa>? previousPublicKeys = null)
    {
        if (key.KeySize != 256)
        {
            throw new InvalidOperationException("The receipt signing key must be an ECDSA P-256 key.");
        }

        _key = key;
        Current = Describe(key);
        PublicKeys = [Current, .. (previousPublicKeys ?? []).Select(Describe)];
    }

    public ReceiptPublicKey Current { get; }

    /// <summary>The current key first, then earlier ones.</summary>
    public IReadOnlyList<ReceiptPublicKey> PublicKeys { get; }

    /// <summary>Loads the key at <paramref name="path"/>, creating it (owner-only) when missing and allowed.</summary>
    public static ReceiptSigner FromFile(string path, bool createIfMissing, IEnumerable<string> previousPublicKeyPaths)
    {
        var key = ECDsa.Create();
        if (File.Exists(path))
        {
            key.ImportFromPem(File.ReadAllText(path));
        }
        else if (createIfMissing)
        {
            key.GenerateKey(ECCurve.NamedCurves.nistP256);
            var folder = Path.GetDirectoryName(Path.GetFullPath(path));
            if (!string.IsNullOrEmpty(folder))
            {
                Directory.CreateDirectory(folder);
            }

            var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
            if (!OperatingSystem.IsWindows())
            {
                options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
            }

            using var writer = new StreamWriter(path, Encoding.ASCII, options);
            writer.Write(key.ExportPkcs8PrivateKeyPem());
        }
        else
        {
            throw new InvalidOperationException($"The receipt signing key file '{path}' does not exist.");
        }

        var previous = previousPublicKeyPaths.Select(p =>
        {
            var publicKey = ECDsa.Create();
            publicKey.ImportFromPem(File.ReadAllText(p));
            return publicKey;
        }).ToList();
        return new ReceiptSigner(key, previous);
    }

    /// <summary>Signs a JSON payload; returns the compact JWS.</summary>
    public string Sign(ReadOnlySpan<byte> payloadJson)
    {
        var header = JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, string>
        {
            ["alg"] = "ES256",
            ["typ"] = "JWT",
            ["kid"] = Current.KeyId,
        });
        var signingInput = $"{Base64Url.EncodeToString(header)}.{Base64Url.EncodeToString(payloadJson)}";
        // .NET's ECDsa signs in IEEE P1363 form (r || s), which is what JWS requires.
        var signature = _key.SignData(Encoding.ASCII.GetBytes(signingInput), HashAlgorithmName.SHA256);
        return $"{signingInput}.{Base64Url.EncodeToString(signature)}";
    }

    public void Dispose() => _key.Dispose();

    private static ReceiptPublicKey Describe(ECDsa key)
    {
        var parameters = key.ExportParameters(includePrivateParameters: false);
        var x = Base64Url.EncodeToString(parameters.Q.X);
        var y = Base64Url.EncodeToString(parameters.Q.Y);
        // RFC 7638 thumbprint: the required members in lexicographic order, no whitespace.
        var canonical = $$"""{"crv":"P-256","kty":"EC","x":"{{x}}","y":"{{y}}"}""";
        var keyId = Base64Url.EncodeToString(SHA256.HashData(Encoding.UTF8.GetBytes(canonical)));
        return new ReceiptPublicKey(keyId, x, y, key.ExportSubjectPublicKeyInfoPem());
    }
}
