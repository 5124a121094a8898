using Gantry.Tests.Support;

namespace Gantry.Tests.Migrations;

/// <summary>The core's composite unique indexes hold even for writers that skip the Admin API's checks.</summary>
public sealed class CompositeUniqueTests
{
    [Theory]
    [InlineData("postgres")]
    [InlineData("sqlite")]
    public async Task A_target_appears_once_per_upstream_even_for_racing_writers(string store)
    {
        await using var gantry = await TestInstallation.CreateAsync(store);
        Assert.Equal(0, (await gantry.RunAsync("migrations", "bootstrap")).ExitCode);
        var upstream = Guid.NewGuid();
        var other = Guid.NewGuid();
        await gantry.ExecuteAsync($"INSERT INTO upstreams (id, created_at, updated_at, name, algorithm, slots, hash_on, hash_fallback) VALUES ('{upstream}', 0, 0, 'u1', 'round-robin', 10000, 'none', 'none'), ('{other}', 0, 0, 'u2', 'round-robin', 10000, 'none', 'none')");
        string Target(Guid owner) => $"INSERT INTO targets (id, created_at, updated_at, upstream_id, target, weight) VALUES ('{Guid.NewGuid()}', 0, 0, '{owner}', '10.0.0.1:80', 100)";
        await gantry.ExecuteAsync(Target(upstream));
        await gantry.ExecuteAsync(Target(other));
        await Assert.ThrowsAnyAsync<System.Data.Common.DbException>(() => gantry.ExecuteAsync(Target(upstream)));
        Assert.Equal(2, await gantry.CountAsync("SELECT count(*) FROM targets"));
    }
}
