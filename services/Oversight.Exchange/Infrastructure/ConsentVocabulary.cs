using Grpc.Core;
using Microsoft.Extensions.Options;
using Oversight.BuildingBlocks.Errors;

namespace Oversight.Exchange.Infrastructure;

/// <summary>The words datasets and requests are written in: Consent's category taxonomy and purposes.</summary>
public sealed record Vocabulary(IReadOnlySet<string> Categories, IReadOnlySet<string> Purposes);

/// <summary>
/// Consent's taxonomy and purposes, read from Consent's registry RPC (never copied by hand) and kept
/// for <see cref="ConsentLinkOptions.VocabularyRefresh"/>. A word not in the kept copy makes it read
/// again once, so a category Consent added a moment ago is known at once. When Consent cannot be
/// reached and nothing is kept, the caller gets UNAVAILABLE: nothing is decided on a guess.
/// </summary>
public sealed class ConsentVocabulary(ConsentConnection consent, IOptions<ExchangeOptions> options, TimeProvider time) : IDisposable
{
    private readonly SemaphoreSlim _refresh = new(1, 1);
    // One reference, replaced whole: a reader never sees half of a refresh.
    private volatile Kept? _kept;

    // A word missing from the kept copy reads it again, but not more often than this: unknown words from a caller cost Consent little.
    private static readonly TimeSpan MissReread = TimeSpan.FromSeconds(10);

    public async Task<bool> IsCategoryAsync(string id, CancellationToken cancellationToken) =>
        (await GetAsync(cancellationToken)).Categories.Contains(id) || (await OnMissAsync(cancellationToken)).Categories.Contains(id);

    public async Task<bool> IsPurposeAsync(string id, CancellationToken cancellationToken) =>
        (await GetAsync(cancellationToken)).Purposes.Contains(id) || (await OnMissAsync(cancellationToken)).Purposes.Contains(id);

    public async Task<Vocabulary> GetAsync(CancellationToken cancellationToken) =>
        _kept is { } kept && time.GetUtcNow() - kept.ReadAt < options.Value.Consent.VocabularyRefresh ? kept.Words : await ReadAsync(cancellationToken);

    private async Task<Vocabulary> OnMissAsync(CancellationToken cancellationToken) =>
        _kept is { } kept && time.GetUtcNow() - kept.ReadAt < MissReread ? kept.Words : await ReadAsync(cancellationToken);

    private async Task<Vocabulary> ReadAsync(CancellationToken cancellationToken)
    {
        var started = time.GetUtcNow();
        await _refresh.WaitAsync(cancellationToken);
        try
        {
            // Another caller read it while this one waited.
            if (_kept is { } kept && kept.ReadAt >= started)
            {
                return kept.Words;
            }

            var deadline = options.Value.Consent.RegistryDeadline;
            var categories = new HashSet<string>(StringComparer.Ordinal);
            var purposes = new HashSet<string>(StringComparer.Ordinal);
            var token = "";
            do
            {
                var page = await consent.Registry.ListDataCategoriesAsync(
                    new Consent.V1.ListDataCategoriesRequest { PageSize = 500, PageToken = token }, consent.Call(deadline, cancellationToken));
                categories.UnionWith(page.DataCategories.Select(c => c.Id));
                token = page.NextPageToken;
            }
            while (token.Length > 0);

            do
            {
                var page = await consent.Registry.ListPurposesAsync(
                    new Consent.V1.ListPurposesRequest { PageSize = 500, PageToken = token }, consent.Call(deadline, cancellationToken));
                purposes.UnionWith(page.Purposes.Select(p => p.Id));
                token = page.NextPageToken;
            }
            while (token.Length > 0);

            var words = new Vocabulary(categories, purposes);
            _kept = new Kept(words, time.GetUtcNow());
            return words;
        }
        catch (RpcException exception) when (!cancellationToken.IsCancellationRequested)
        {
            // Whatever Consent answered, Exchange's caller gets Exchange's own status, never Consent's.
            if (_kept is { } stale)
            {
                return stale.Words;
            }

            throw new UnavailableException($"Consent's registry did not answer ({exception.StatusCode}); the data category and purpose cannot be checked. Retry later.");
        }
        finally
        {
            _refresh.Release();
        }
    }

    public void Dispose() => _refresh.Dispose();

    private sealed record Kept(Vocabulary Words, DateTimeOffset ReadAt);
}
