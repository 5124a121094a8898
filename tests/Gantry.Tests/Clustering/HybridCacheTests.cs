using Gantry.Clustering;
using Microsoft.Extensions.Logging.Abstractions;

namespace Gantry.Tests.Clustering;

/// <summary>
/// The data plane's cache under a stream of changes: writes are folded, spaced by at least the minimum
/// interval and by ten times what the last write cost, and the last change is on disk once the cache is
/// disposed. A write's cost is simulated by a snapshot that takes its time, as copying a large
/// configuration does.
/// </summary>
public sealed class HybridCacheTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("gantry-test-cache-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private static (long, string, List<WireEntity>) Configuration(long version) =>
        (version, $"hash-{version}", [WireEntity.Of("services", "4c1d0a43-9a44-4f1e-8a57-3a3b5f0d6c01", $$"""{"id":"4c1d0a43-9a44-4f1e-8a57-3a3b5f0d6c01","name":"s{{version}}"}""")]);

    /// <summary>Schedules version 1, 2, 3… every 10 ms for <paramref name="duration"/>; the last version scheduled.</summary>
    private static async Task<long> StreamAsync(HybridCache cache, TimeSpan duration, TimeSpan writeCost)
    {
        long version = 0;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (clock.Elapsed < duration)
        {
            var scheduled = ++version;
            cache.Schedule(() =>
            {
                Thread.Sleep(writeCost);
                return Configuration(scheduled);
            });
            await Task.Delay(10);
        }
        return version;
    }

    [Fact]
    public async Task A_costly_write_spaces_the_next_by_ten_times_its_cost_and_the_last_change_is_kept()
    {
        var cache = new HybridCache(Path.Combine(_folder, HybridCache.FileName), NullLogger.Instance, TimeSpan.FromMilliseconds(20));
        var last = await StreamAsync(cache, TimeSpan.FromSeconds(2.5), TimeSpan.FromMilliseconds(150));
        var duringStream = cache.Writes;
        await cache.DisposeAsync();

        // 150 ms a write: 1.5 s at least between two, so the first and one more fit in 2.5 s, not one per 20 ms.
        Assert.InRange(duringStream, 1, 2);
        Assert.True(cache.Spacing >= TimeSpan.FromMilliseconds(150 * HybridCache.CostFactor), $"spacing {cache.Spacing}");
        Assert.Equal(last, cache.Read()!.Value.Version);
    }

    [Fact]
    public async Task A_cheap_write_is_spaced_by_the_minimum_interval_only()
    {
        var cache = new HybridCache(Path.Combine(_folder, HybridCache.FileName), NullLogger.Instance, TimeSpan.FromMilliseconds(200));
        var last = await StreamAsync(cache, TimeSpan.FromSeconds(2), TimeSpan.Zero);
        var duringStream = cache.Writes;
        await cache.DisposeAsync();

        // About one write per 200 ms (a small file's flush to disk costs far less than 20 ms): many more than a
        // cost-spaced cache makes, and never one per change.
        Assert.InRange(duringStream, 4, 11);
        Assert.True(last > 3 * duringStream, $"{last} changes, {duringStream} writes");
        Assert.InRange(cache.Spacing, TimeSpan.FromMilliseconds(200), TimeSpan.FromMilliseconds(400));
        var read = cache.Read()!.Value;
        Assert.Equal(last, read.Version);
        Assert.Equal($"hash-{last}", read.Hash);
    }
}
