namespace StreamIngest.Tests;

/// <summary>
/// Waits for a condition that background work (a pipeline, a feed loop, a broker link) makes true: checked every
/// 10 ms, failing with what was awaited once <c>timeout</c> has passed. The one polling loop the tests share.
/// </summary>
internal static class Eventually
{
    public static async Task UntilAsync(Func<Task<bool>> condition, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!await condition())
        {
            if (DateTime.UtcNow >= deadline)
            {
                throw new TimeoutException($"timed out after {timeout.TotalSeconds:0.#} s waiting for: {what}");
            }

            await Task.Delay(10);
        }
    }

    public static Task UntilAsync(Func<bool> condition, TimeSpan timeout, string what) =>
        UntilAsync(() => Task.FromResult(condition()), timeout, what);
}
