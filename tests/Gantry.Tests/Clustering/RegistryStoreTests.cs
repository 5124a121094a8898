using Gantry.Clustering.Compatibility;
using Gantry.Clustering.Registry;
using Gantry.Configuration;
using Gantry.Store;
using Gantry.Tests.Support;

namespace Gantry.Tests.Clustering;

/// <summary>
/// The data plane registry on a bootstrapped database of each kind: what one report writes, how the
/// rows page, and how a data plane unseen for the purge delay disappears (hidden at once, deleted by
/// the next purge of any node).
/// </summary>
public abstract class RegistryStoreTests(string store) : IAsyncLifetime
{
    private static readonly TimeSpan PurgeDelay = TimeSpan.FromHours(1);

    private TestInstallation _installation = null!;
    private IDatabase _database = null!;

    public async Task InitializeAsync()
    {
        _installation = await TestInstallation.CreateAsync(store);
        var bootstrap = await _installation.RunAsync("migrations", "bootstrap");
        Assert.True(bootstrap.ExitCode == 0, bootstrap.ToString());
        Assert.Contains("core migrated up to: 003_clustering_data_planes (executed)", bootstrap.Stdout);
        _database = _installation.OpenDatabase();
    }

    public async Task DisposeAsync()
    {
        await _database.DisposeAsync();
        await _installation.DisposeAsync();
    }

    private DataPlaneRegistry Registry() => new(_database, PurgeDelay);

    private static DataPlaneReport Report(Guid id, string hostname = "dp", SyncStatus status = SyncStatus.Normal, string hash = "0123456789abcdef0123456789abcdef") =>
        new(id, hostname, "10.0.0.7", "0.3.0", status, hash);

    private static Guid Id(int n) => Guid.Parse($"00000000-0000-4000-8000-{n:x12}");

    // Both databases' clocks count whole seconds here; moving a row back in time stands for waiting.
    private Task AgeAsync(Guid id, long seconds) =>
        _installation.ExecuteAsync($"UPDATE clustering_data_planes SET last_seen = last_seen - {seconds} WHERE id = '{id}'");

    [Fact]
    public async Task A_report_creates_the_row_and_the_next_replaces_every_field()
    {
        var registry = Registry();
        var id = Guid.NewGuid();
        var before = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        await registry.UpsertAsync(new DataPlaneReport(id, "dp-1", "10.0.0.7", "0.2.0", SyncStatus.Unknown, new string('0', 32),
            new Dictionary<string, string> { ["region"] = "eu", ["deployment"] = "blue" }, CertificateExpiry: 1_900_000_000), default);

        var first = Assert.Single(await registry.ListAsync(default));
        Assert.Equal((id, "dp-1", "10.0.0.7", "0.2.0", "unknown", new string('0', 32)),
            (first.Id, first.Hostname, first.Ip, first.Version, first.SyncStatus, first.ConfigHash));
        Assert.Equal(new Dictionary<string, string> { ["deployment"] = "blue", ["region"] = "eu" }, first.Labels);
        Assert.Equal(1_900_000_000, first.CertificateExpiry);
        Assert.InRange(first.LastSeen, before - 2, DateTimeOffset.UtcNow.ToUnixTimeSeconds() + 2);
        Assert.Equal(first.LastSeen, first.UpdatedAt);
        Assert.InRange(first.Ttl, (long)PurgeDelay.TotalSeconds - 2, (long)PurgeDelay.TotalSeconds);

        await AgeAsync(id, 600);
        await registry.UpsertAsync(Report(id, "dp-1b", SyncStatus.PluginSetIncompatible), default);
        var second = Assert.Single(await registry.ListAsync(default));
        Assert.Equal(("dp-1b", "plugin_set_incompatible", SyncStatus.PluginSetIncompatible, "0.3.0"), (second.Hostname, second.SyncStatus, second.Status, second.Version));
        Assert.Null(second.Labels);
        Assert.Null(second.CertificateExpiry);
        // Seen again: the clock of the row starts over.
        Assert.InRange(second.LastSeen, first.LastSeen, first.LastSeen + 10);
        Assert.Equal(1, await _installation.CountAsync("SELECT count(*) FROM clustering_data_planes"));
    }

    [Fact]
    public async Task Pages_follow_the_id_order_until_the_last_one_and_a_bad_offset_is_refused()
    {
        var registry = Registry();
        foreach (var n in new[] { 4, 1, 5, 3, 2 })
            await registry.UpsertAsync(Report(Id(n), "dp-" + n), default);

        var seen = new List<Guid>();
        string? offset = null;
        var pages = 0;
        do
        {
            var page = await registry.PageAsync(2, offset, default);
            Assert.True(page.Data.Count == 2 || page.Offset is null);
            seen.AddRange(page.Data.Select(d => d.Id));
            offset = page.Offset;
            pages++;
        }
        while (offset is not null);
        Assert.Equal(3, pages);
        Assert.Equal([Id(1), Id(2), Id(3), Id(4), Id(5)], seen);

        var exact = await registry.PageAsync(5, null, default);
        Assert.Equal(5, exact.Data.Count);
        Assert.Null(exact.Offset);

        var refused = await Assert.ThrowsAsync<EntityException>(() => registry.PageAsync(2, "not-an-offset", default));
        Assert.Equal(7, refused.Code);
    }

    [Fact]
    public async Task A_data_plane_unseen_for_the_purge_delay_is_hidden_at_once_and_deleted_by_the_next_purge()
    {
        var registry = Registry();
        await registry.UpsertAsync(Report(Id(1), "gone"), default);
        await registry.UpsertAsync(Report(Id(2), "stays"), default);
        await AgeAsync(Id(1), (long)PurgeDelay.TotalSeconds + 5);
        await AgeAsync(Id(2), (long)PurgeDelay.TotalSeconds - 100);

        // Hidden from every read before any purge ran.
        Assert.Equal(2, await _installation.CountAsync("SELECT count(*) FROM clustering_data_planes"));
        var left = Assert.Single(await registry.ListAsync(default));
        Assert.Equal("stays", left.Hostname);
        Assert.InRange(left.Ttl, 98, 100);
        Assert.Equal([Id(2)], (await registry.PageAsync(10, null, default)).Data.Select(d => d.Id));

        Assert.Equal(1, await registry.PurgeExpiredAsync(default));
        Assert.Equal(1, await _installation.CountAsync("SELECT count(*) FROM clustering_data_planes"));
        Assert.Equal(0, await registry.PurgeExpiredAsync(default));
    }

    [Fact]
    public async Task Another_control_plane_node_lists_the_same_rows_and_its_first_report_purges()
    {
        var first = Registry();
        await first.UpsertAsync(Report(Id(1), "expired"), default);
        await first.UpsertAsync(Report(Id(2), "fed-by-first"), default);
        await AgeAsync(Id(1), (long)PurgeDelay.TotalSeconds + 5);
        // Within the minute since the first node purged: its own reports leave the expired row in place.
        await first.UpsertAsync(Report(Id(2), "fed-by-first"), default);
        Assert.Equal(2, await _installation.CountAsync("SELECT count(*) FROM clustering_data_planes"));

        var second = Registry();
        await second.UpsertAsync(Report(Id(3), "fed-by-second"), default);
        Assert.Equal(["fed-by-first", "fed-by-second"], (await first.ListAsync(default)).Select(d => d.Hostname));
        Assert.Equal(["fed-by-first", "fed-by-second"], (await second.ListAsync(default)).Select(d => d.Hostname));
        Assert.Equal(2, await _installation.CountAsync("SELECT count(*) FROM clustering_data_planes"));
    }
}

public sealed class SqliteRegistryStoreTests() : RegistryStoreTests("sqlite");

public sealed class PostgresRegistryStoreTests() : RegistryStoreTests("postgres");
