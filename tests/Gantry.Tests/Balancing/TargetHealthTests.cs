using System.Text.Json.Nodes;
using Gantry.Balancing;
using Microsoft.Extensions.Logging.Abstractions;

namespace Gantry.Tests.Balancing;

/// <summary>The node's health state: the threshold, counting toward a change, and keeping it across rebuilds.</summary>
public sealed class TargetHealthTests
{
    private static UpstreamDefinition Definition(JsonObject? healthchecks, params (string Target, int Weight)[] targets)
    {
        var upstream = new JsonObject
        {
            ["id"] = "6f9619ff-8b86-d011-b42d-00c04fc964ff",
            ["name"] = "pool",
            ["algorithm"] = "round-robin",
            ["healthchecks"] = healthchecks,
        };
        return UpstreamDefinition.From(UpstreamHashInputTests.Upstream(upstream), targets);
    }

    private static JsonObject Checks(string json) => JsonNode.Parse(json)!.AsObject();

    [Fact]
    public void Threshold_needs_strictly_more_healthy_weight_than_its_percentage()
    {
        var b = Balancer.Create([("a:1", 100), ("b:1", 100), ("c:1", 200)], new BalancerSettings { Threshold = 50 });
        Assert.NotNull(b.Pick());
        b.Health.SetHealthy(0, false); // 300 of 400 healthy: 75 %
        Assert.NotNull(b.Pick());
        b.Health.SetHealthy(1, false); // 200 of 400: 50 % is not above 50 %
        Assert.Null(b.Pick());
        Assert.Null(b.Acquire().Target);
        Assert.Equal(200, b.Health.HealthyWeight);
        b.Health.SetHealthy(1, true);
        Assert.NotNull(b.Pick()); // 300 of 400 again
        Assert.True(b.Health.AnyPickable);
    }

    [Fact]
    public void Repeated_transitions_to_the_same_state_do_not_skew_the_healthy_weight()
    {
        var b = Balancer.Create([("a:1", 10), ("b:1", 30)], new BalancerSettings());
        b.Health.SetHealthy(1, false);
        b.Health.SetHealthy(1, false);
        Assert.Equal(10, b.Health.HealthyWeight);
        b.Health.SetHealthy(1, true);
        b.Health.SetHealthy(1, true);
        Assert.Equal(40, b.Health.HealthyWeight);
    }

    [Fact]
    public async Task Health_is_kept_when_the_upstream_is_rebuilt_and_dropped_with_it()
    {
        await using var registry = new HealthRegistry(Guid.NewGuid(), NullLogger.Instance);
        var first = Definition(null, ("10.0.0.1:80", 100), ("10.0.0.2:80", 100));
        var health = (await registry.ApplyAsync([first], CancellationToken.None))[first.Id];
        Assert.True(registry.Apply(new HealthChange(first.Id, "10.0.0.2:80", null, false)));
        Assert.False(health.Balancer.Health.IsHealthy(1));

        // A new balancer over three targets: the second is still down, the new one is up.
        var second = Definition(null, ("10.0.0.1:80", 100), ("10.0.0.2:80", 100), ("10.0.0.3:80", 50));
        var again = (await registry.ApplyAsync([second], CancellationToken.None))[second.Id];
        Assert.Same(health, again);
        var balancer = health.Balancer;
        Assert.Equal(3, balancer.Targets.Count);
        Assert.False(balancer.Health.IsHealthy(balancer.IndexOf("10.0.0.2:80")));
        Assert.True(balancer.Health.IsHealthy(balancer.IndexOf("10.0.0.3:80")));
        for (int i = 0; i < 20; i++)
            Assert.NotEqual("10.0.0.2:80", balancer.Pick()!.Address);

        // Gone from the configuration: its state goes too, and a later upstream with that id starts healthy.
        await registry.ApplyAsync([], CancellationToken.None);
        Assert.Null(registry.Find(first.Id));
        var back = (await registry.ApplyAsync([first], CancellationToken.None))[first.Id];
        Assert.True(back.Balancer.Health.IsHealthy(1));
    }

    [Fact]
    public async Task Passive_failures_count_to_the_limit_a_success_resets_them_and_passive_never_marks_up()
    {
        await using var registry = new HealthRegistry(Guid.NewGuid(), NullLogger.Instance);
        var definition = Definition(Checks("""{"passive": {"unhealthy": {"http_failures": 3, "timeouts": 1}, "healthy": {"successes": 1}}}"""),
            ("10.0.0.1:80", 100), ("10.0.0.2:80", 100));
        var health = (await registry.ApplyAsync([definition], CancellationToken.None))[definition.Id];
        Assert.True(health.PassiveEnabled);
        var target = health.Balancer.Targets[0];

        health.ReportPassive(target, HealthOutcome.HttpFailure);
        health.ReportPassive(target, HealthOutcome.HttpFailure);
        health.ReportPassive(target, HealthOutcome.Success);
        health.ReportPassive(target, HealthOutcome.HttpFailure);
        health.ReportPassive(target, HealthOutcome.HttpFailure);
        Assert.True(health.Balancer.Health.IsHealthy(0));
        health.ReportPassive(target, HealthOutcome.HttpFailure);
        Assert.False(health.Balancer.Health.IsHealthy(0));
        health.ReportPassive(target, HealthOutcome.Success);
        health.ReportPassive(target, HealthOutcome.Success);
        Assert.False(health.Balancer.Health.IsHealthy(0));

        // One timeout is enough for the other target; tcp failures are not counted (limit 0).
        var other = health.Balancer.Targets[1];
        for (int i = 0; i < 10; i++)
            health.ReportPassive(other, HealthOutcome.TcpFailure);
        Assert.True(health.Balancer.Health.IsHealthy(1));
        health.ReportPassive(other, HealthOutcome.Timeout);
        Assert.False(health.Balancer.Health.IsHealthy(1));
    }

    [Fact]
    public async Task Active_successes_bring_a_target_back_after_the_configured_count()
    {
        await using var registry = new HealthRegistry(Guid.NewGuid(), NullLogger.Instance);
        // Intervals of an hour: the checker runs, but never within this test, so only the reports below count.
        var definition = Definition(Checks("""{"active": {"healthy": {"interval": 3600, "successes": 2}, "unhealthy": {"interval": 3600, "tcp_failures": 1}}}"""),
            ("10.0.0.1:80", 100));
        var health = (await registry.ApplyAsync([definition], CancellationToken.None))[definition.Id];
        var target = health.Balancer.Targets[0];
        health.ReportActive(target, HealthOutcome.TcpFailure);
        Assert.False(health.Balancer.Health.IsHealthy(0));
        health.ReportActive(target, HealthOutcome.Success);
        Assert.False(health.Balancer.Health.IsHealthy(0));
        health.ReportActive(target, HealthOutcome.Success);
        Assert.True(health.Balancer.Health.IsHealthy(0));
    }

    [Fact]
    public async Task Names_resolve_to_one_entry_per_address_and_a_failure_is_a_dns_error()
    {
        await using var registry = new HealthRegistry(Guid.NewGuid(), NullLogger.Instance);
        var definition = Definition(null, ("localhost:8080", 100), ("127.0.0.1:8080", 100), ("nowhere.invalid:80", 100));
        var health = (await registry.ApplyAsync([definition], CancellationToken.None))[definition.Id];
        var targets = health.Balancer.Targets;
        // localhost resolves to 127.0.0.1, which the IP target then duplicates: kept once, under the name.
        Assert.Contains(targets, t => t.Address == "127.0.0.1:8080" && t.Target == "localhost:8080" && t.HostName == "localhost");
        Assert.Equal(targets.Count, targets.Select(t => t.Address).Distinct().Count());
        Assert.Equal("http://127.0.0.1:8080", targets.First(t => t.Address == "127.0.0.1:8080").Destination("http"));
        Assert.Equal("localhost:8080", targets.First(t => t.Address == "127.0.0.1:8080").HostHeader("http"));
        Assert.NotNull(health.DnsError("nowhere.invalid:80"));
        Assert.Null(health.DnsError("localhost:8080"));
        Assert.DoesNotContain(targets, t => t.Target == "nowhere.invalid:80");
    }

    [Fact]
    public async Task An_upstream_that_cannot_be_balanced_gets_an_empty_balancer_and_says_why()
    {
        await using var registry = new HealthRegistry(Guid.NewGuid(), NullLogger.Instance);
        var upstream = new JsonObject { ["id"] = Guid.NewGuid().ToString(), ["name"] = "tiny", ["algorithm"] = "consistent-hashing", ["slots"] = 10 };
        var definition = UpstreamDefinition.From(UpstreamHashInputTests.Upstream(upstream), [("10.0.0.1:80", 100)]);
        var health = (await registry.ApplyAsync([definition], CancellationToken.None))[definition.Id];
        Assert.Null(health.Balancer.Pick());
        Assert.Contains("slots is 10", health.ConfigurationError);
    }
}
