using Grpc.Core;
using Microsoft.AspNetCore.Authorization;
using Oversight.Consent.Infrastructure;
using Oversight.Consent.V1;

namespace Oversight.Consent.Grpc;

/// <summary>Serves the receipt-verifying public keys, without a token like any JWKS: anyone verifies a receipt with the key alone.</summary>
[AllowAnonymous]
public sealed class ReceiptKeyGrpcService(ReceiptSigner signer) : ConsentReceiptKeyService.ConsentReceiptKeyServiceBase
{
    public override Task<ListReceiptKeysResponse> ListReceiptKeys(ListReceiptKeysRequest request, ServerCallContext context)
    {
        var response = new ListReceiptKeysResponse();
        response.Keys.AddRange(signer.PublicKeys.Select(k => new ReceiptKey
        {
            KeyId = k.KeyId,
            KeyType = "EC",
            Curve = "P-256",
            X = k.X,
            Y = k.Y,
            Algorithm = "ES256",
            PublicKeyPem = k.Pem,
        }));
        return Task.FromResult(response);
    }
}
