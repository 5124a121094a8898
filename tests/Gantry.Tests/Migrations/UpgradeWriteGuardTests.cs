using Gantry.Migrations;
using Gantry.Node;
using Microsoft.Extensions.Logging.Abstractions;

namespace Gantry.Tests.Migrations;

public sealed class UpgradeWriteGuardTests
{
    private sealed class ManualClock : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = new(2025, 1, 1, 0, 0, 0, TimeSpan.Zero);

        public override DateTimeOffset GetUtcNow() => Now;
    }

    private static readonly IReadOnlyList<SubsystemMigrations> Pending = [new("blue", ["003_label"])];

    [Fact]
    public async Task State_is_read_at_most_once_per_max_age_and_a_change_is_seen_after_it()
    {
        var clock = new ManualClock();
        var reads = 0;
        IReadOnlyList<SubsystemMigrations> state = Pending;
        var guard = new UpgradeWriteGuard(_ => { reads++; return Task.FromResult(state); }, clock, NullLogger.Instance);

        Assert.Same(Pending, await guard.PendingAsync(default));
        state = [];
        clock.Now += UpgradeWriteGuard.MaxAge / 2;
        Assert.Same(Pending, await guard.PendingAsync(default));
        Assert.Equal(1, reads);

        clock.Now += UpgradeWriteGuard.MaxAge;
        Assert.Empty(await guard.PendingAsync(default));
        Assert.Equal(2, reads);
    }

    [Fact]
    public async Task Concurrent_writes_share_one_read()
    {
        var release = new TaskCompletionSource<IReadOnlyList<SubsystemMigrations>>();
        var reads = 0;
        var guard = new UpgradeWriteGuard(_ => { Interlocked.Increment(ref reads); return release.Task; }, new ManualClock(), NullLogger.Instance);
        var waiting = Enumerable.Range(0, 5).Select(_ => guard.PendingAsync(default)).ToList();
        release.SetResult(Pending);
        foreach (var answer in await Task.WhenAll(waiting))
            Assert.Same(Pending, answer);
        Assert.Equal(1, reads);
    }

    [Fact]
    public async Task An_unreadable_database_keeps_the_last_answer()
    {
        var clock = new ManualClock();
        var fail = false;
        var guard = new UpgradeWriteGuard(
            _ => fail ? throw new Gantry.Store.DatabaseUnavailableException("down") : Task.FromResult(Pending), clock, NullLogger.Instance);
        Assert.Same(Pending, await guard.PendingAsync(default));
        fail = true;
        clock.Now += UpgradeWriteGuard.MaxAge * 2;
        Assert.Same(Pending, await guard.PendingAsync(default));
    }
}
