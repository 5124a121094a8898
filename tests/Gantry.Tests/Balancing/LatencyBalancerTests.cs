using System.Diagnostics;
using Gantry.Balancing;

namespace Gantry.Tests.Balancing;

/// <summary>The latency algorithm: peak EWMA per entry, scaled by requests in flight and weight.</summary>
public sealed class LatencyBalancerTests
{
    private static LatencyBalancer Build(params (string Address, int Weight)[] targets) =>
        (LatencyBalancer)Balancer.Create(targets, new BalancerSettings { Algorithm = BalancerAlgorithm.Latency });

    [Fact]
    public void Entries_not_sampled_yet_share_the_traffic_then_the_faster_one_wins()
    {
        var b = Build(("a:1", 100), ("b:1", 100));
        var first = new HashSet<string> { b.Pick()!.Address, b.Pick()!.Address };
        Assert.Equal(2, first.Count);

        long now = Stopwatch.GetTimestamp();
        b.Record(0, 200, now);
        b.Record(1, 10, now);
        for (int i = 0; i < 20; i++)
            Assert.Equal("b:1", b.Pick()!.Address);
    }

    [Fact]
    public void A_slower_sample_takes_over_at_once_and_a_faster_one_decays_in()
    {
        var b = Build(("a:1", 100));
        long now = Stopwatch.GetTimestamp();
        b.Record(0, 10, now);
        b.Record(0, 100, now);
        Assert.Equal(100, b.AverageMilliseconds(0));
        // One second later a 10 ms sample moves the average only part of the way (10 s decay).
        b.Record(0, 10, now + Stopwatch.Frequency);
        Assert.InRange(b.AverageMilliseconds(0), 90, 100);
        // Much later it has nearly all of its weight.
        b.Record(0, 10, now + 100 * Stopwatch.Frequency);
        Assert.InRange(b.AverageMilliseconds(0), 10, 11);
    }

    [Fact]
    public void An_entry_not_measured_for_a_while_is_tried_again()
    {
        var b = Build(("a:1", 100), ("b:1", 100));
        long now = Stopwatch.GetTimestamp();
        // a was slow 30 s ago and has not been picked since: 200 ms faded by e^-3 is about 10 ms, under b's 100.
        b.Record(0, 200, now - 30 * Stopwatch.Frequency);
        b.Record(1, 100, now);
        Assert.Equal("a:1", b.Pick()!.Address);
    }

    [Fact]
    public void Requests_in_flight_and_weight_scale_the_score()
    {
        var b = Build(("a:1", 100), ("b:1", 300));
        long now = Stopwatch.GetTimestamp();
        b.Record(0, 30, now);
        b.Record(1, 60, now);
        // 30 / 100 against 60 / 300: b's weight makes it the better choice.
        Assert.Equal("b:1", b.Pick()!.Address);
        // One request in flight on b: 60 × 2 / 300 = 0.4 > 0.3, so a takes the next one.
        var one = b.Acquire();
        Assert.Equal("b:1", one.Target!.Address);
        Assert.Equal("a:1", b.Pick()!.Address);
        // Released (and timed: a sample of about 0 ms pulls b's average down), b is the choice again.
        one.Dispose();
        Assert.Equal("b:1", b.Pick()!.Address);
    }

    [Fact]
    public void A_rebuilt_balancer_keeps_the_averages_and_a_new_address_starts_at_their_mean()
    {
        var before = Build(("a:1", 100), ("b:1", 100));
        long now = Stopwatch.GetTimestamp();
        before.Record(0, 20, now);
        before.Record(1, 40, now);
        var after = Build(("a:1", 100), ("b:1", 100), ("c:1", 100));
        after.Inherit(before);
        Assert.Equal(20, after.AverageMilliseconds(0));
        Assert.Equal(40, after.AverageMilliseconds(1));
        Assert.Equal(30, after.AverageMilliseconds(2));
    }

    [Fact]
    public void Unhealthy_entries_are_skipped()
    {
        var b = Build(("a:1", 100), ("b:1", 100));
        b.Health.SetHealthy(0, false);
        for (int i = 0; i < 5; i++)
            Assert.Equal("b:1", b.Pick()!.Address);
        b.Health.SetHealthy(1, false);
        Assert.Null(b.Acquire().Target);
    }
}
