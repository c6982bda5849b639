namespace Oversight.Testing;

/// <summary>
/// Waits for a condition, not for a delay: the relay, the bus and background work run
/// asynchronously, and a loaded machine only makes them slower. One file, linked into each test
/// project from <c>tests/Shared</c>.
/// </summary>
internal static class Eventually
{
    /// <summary>Polls until the condition holds; fails naming <paramref name="what"/> once the timeout has passed.</summary>
    public static async Task HoldsAsync(Func<Task<bool>> condition, string what, int timeoutMs = 15000)
    {
        var deadline = DateTime.UtcNow.AddMilliseconds(timeoutMs);
        while (DateTime.UtcNow < deadline)
        {
            if (await condition())
            {
                return;
            }

            await Task.Delay(50);
        }

        Assert.Fail($"Timed out waiting until {what}.");
    }
}
