using Google.Protobuf;
using Grpc.Core;
using Oversight.Consent.V1;
using Oversight.Exchange.V1;
using Oversight.Governance.V1;

namespace Oversight.Cli;

/// <summary>
/// One invocation's clients (on a channel carrying the caller's token) and its output. The channel
/// goes to the one service the command calls; only that service's clients are used.
/// </summary>
internal sealed class Session(CallInvoker invoker, Output output, CancellationToken cancellation)
{
    public ConsentService.ConsentServiceClient Consents { get; } = new(invoker);

    public ConsentRegistryService.ConsentRegistryServiceClient Registry { get; } = new(invoker);

    public ConsentReceiptKeyService.ConsentReceiptKeyServiceClient ReceiptKeys { get; } = new(invoker);

    public SubjectService.SubjectServiceClient Subjects { get; } = new(invoker);

    public OrganisationService.OrganisationServiceClient Organisations { get; } = new(invoker);

    public ShareLedgerService.ShareLedgerServiceClient Shares { get; } = new(invoker);

    public ProposalService.ProposalServiceClient Proposals { get; } = new(invoker);

    public ExecutiveService.ExecutiveServiceClient Executives { get; } = new(invoker);

    public AllianceService.AllianceServiceClient Alliances { get; } = new(invoker);

    public RegulatorOrderService.RegulatorOrderServiceClient Orders { get; } = new(invoker);

    public CatalogService.CatalogServiceClient Catalog { get; } = new(invoker);

    public VaultService.VaultServiceClient Vault { get; } = new(invoker);

    public DataRequestService.DataRequestServiceClient DataRequests { get; } = new(invoker);

    public DeliveryService.DeliveryServiceClient Deliveries { get; } = new(invoker);

    /// <summary>The audit log of the service the session calls (every service serves its own).</summary>
    public Oversight.Audit.V1.AuditLogService.AuditLogServiceClient AuditLog { get; } = new(invoker);

    public Output Output { get; } = output;

    public CancellationToken Cancellation { get; } = cancellation;

    /// <summary>
    /// Follows next_page_token to the last page and returns every page merged into one response
    /// (merging concatenates the repeated fields), so text and JSON print the whole list at once.
    /// </summary>
    public static async Task<T> AllPagesAsync<T>(Func<string, AsyncUnaryCall<T>> fetch)
        where T : IMessage<T>
    {
        var all = await fetch("");
        var nextPageToken = all.Descriptor.FindFieldByName("next_page_token").Accessor;
        var token = (string)nextPageToken.GetValue(all);
        while (token.Length > 0)
        {
            var page = await fetch(token);
            all.MergeFrom(page);
            token = (string)nextPageToken.GetValue(page);
        }

        nextPageToken.Clear(all);
        return all;
    }
}
