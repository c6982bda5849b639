using Oversight.Contracts;

namespace Oversight.Testing;

/// <summary>
/// An aggregate's events as a producer stamps them, and every order the broker could deliver them
/// in. One file, linked into the module test projects that check their consumers against reordering.
/// </summary>
internal static class EventHistories
{
    /// <summary>Every order of <paramref name="items"/>.</summary>
    public static IEnumerable<int[]> Permutations(int[] items) =>
        items.Length <= 1
            ? [items]
            : items.SelectMany(first => Permutations(items.Where(i => i != first).ToArray()).Select(rest => (int[])[first, .. rest]));

    /// <summary>The event with a fresh id, the time now, Governance as its producer and the aggregate's <paramref name="version"/>.</summary>
    public static T Stamped<T>(T message, long version) where T : IntegrationEvent =>
        message with { EventId = Guid.NewGuid(), OccurredAt = DateTimeOffset.UtcNow, Producer = Producers.Governance, Version = version };
}
