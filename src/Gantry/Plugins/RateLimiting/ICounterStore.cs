namespace Gantry.Plugins.RateLimiting;

/// <summary>Whose requests a count is for: the plugin instance's route and service (the zero UUID when unscoped) and the limit_by identifier.</summary>
public readonly record struct CounterScope(Guid Route, Guid Service, string Identifier);

/// <summary>
/// One fixed window of a limit: its period's name as stored (<c>minute</c>, or response-ratelimiting's
/// <c>&lt;limit&gt;_minute</c>), and its start and end in Unix seconds.
/// </summary>
public readonly record struct CounterWindow(string Period, long Start, long End);

/// <summary>
/// Where a rate-limiting policy keeps its counts: the node's memory (local), Redis, or the database
/// (cluster). rate-limiting and response-ratelimiting count through this one interface; a store that
/// cannot answer throws, and the caller's fault_tolerant decides what the request gets.
/// </summary>
public interface ICounterStore
{
    /// <summary>What a log line calls the store: "Redis at host:port", "the database (…)".</summary>
    string Description { get; }

    /// <summary>The counts of the windows so far, in the order given.</summary>
    ValueTask<long[]> GetAsync(CounterScope scope, CounterWindow[] windows);

    /// <summary>
    /// Adds <paramref name="amount"/> (negative to take a count back) to every window's count and returns
    /// the counts after it, in one round trip where the store allows.
    /// </summary>
    ValueTask<long[]> AddAsync(CounterScope scope, CounterWindow[] windows, long amount);
}
