using System.Net;
using System.Net.Http.Headers;

namespace Oversight.Exchange.Tests;

/// <summary>
/// Sits on Exchange's real channel to Consent, under the gRPC client, and breaks it on demand: the
/// call fails at the transport, hangs until its deadline, or is answered with a gRPC error — what a
/// stopped, slow or broken Consent looks like from Exchange's side.
/// </summary>
public sealed class ConsentLinkFaults(HttpMessageHandler inner) : DelegatingHandler(inner)
{
    public enum Fault
    {
        None,
        Unreachable,
        Stalled,
        Erroring,
    }

    private volatile Fault _fault;
    private volatile TaskCompletionSource? _held;
    private int _calls;

    public Fault Current
    {
        get => _fault;
        set => _fault = value;
    }

    /// <summary>Calls that reached the link (passed, held or broken).</summary>
    public int Calls => Volatile.Read(ref _calls);

    /// <summary>When each batch check left for Consent (after any hold), in order, as <see cref="System.Diagnostics.Stopwatch"/> ticks.</summary>
    public System.Collections.Concurrent.ConcurrentQueue<long> BatchChecksSent { get; } = new();

    /// <summary>From now on, calls wait at the link (not yet at Consent) until <see cref="Release"/>.</summary>
    public void Hold() => _held = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Lets the held calls, and later ones, through.</summary>
    public void Release() => Interlocked.Exchange(ref _held, null)?.TrySetResult();

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _calls);
        if (_held is { } held)
        {
            await held.Task.WaitAsync(cancellationToken);
        }

        switch (_fault)
        {
            case Fault.Unreachable:
                throw new HttpRequestException("Connection refused (the test cut the link to Consent)");
            case Fault.Stalled:
                await Task.Delay(Timeout.Infinite, cancellationToken);
                break;
            case Fault.Erroring:
                // A trailers-only answer, as a server that failed the call sends.
                var response = new HttpResponseMessage(HttpStatusCode.OK) { Version = HttpVersion.Version20, RequestMessage = request, Content = new ByteArrayContent([]) };
                response.Content.Headers.ContentType = new MediaTypeHeaderValue("application/grpc");
                response.Headers.Add("grpc-status", "13");
                response.Headers.Add("grpc-message", "injected failure");
                return response;
        }

        if (request.RequestUri?.AbsolutePath.EndsWith("/BatchCheckConsent", StringComparison.Ordinal) == true)
        {
            BatchChecksSent.Enqueue(System.Diagnostics.Stopwatch.GetTimestamp());
        }

        return await base.SendAsync(request, cancellationToken);
    }
}
