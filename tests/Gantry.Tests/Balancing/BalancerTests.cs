using Gantry.Balancing;

namespace Gantry.Tests.Balancing;

public sealed class BalancerTests
{
    private static Balancer Build(BalancerAlgorithm algorithm, params (string Address, int Weight)[] targets) =>
        Balancer.Create(targets, new BalancerSettings { Algorithm = algorithm });

    private static (string, int)[] Equal(int n, int weight = 100)
    {
        var targets = new (string, int)[n];
        for (int i = 0; i < n; i++)
            targets[i] = ($"10.0.0.{i + 1}:8080", weight);
        return targets;
    }

    private static Dictionary<string, int> Count(Func<BalancerTarget?> pick, int picks)
    {
        var counts = new Dictionary<string, int>();
        for (int i = 0; i < picks; i++)
        {
            var t = pick() ?? throw new InvalidOperationException("no target picked");
            counts[t.Address] = counts.GetValueOrDefault(t.Address) + 1;
        }
        return counts;
    }

    // ---- round-robin ----

    [Fact]
    public void RoundRobin_full_wheel_serves_exactly_the_reduced_weights()
    {
        var b = (RoundRobinBalancer)Build(BalancerAlgorithm.RoundRobin, ("a:1", 300), ("b:1", 200), ("c:1", 100));
        Assert.Equal(6, b.WheelSize); // weights ÷ GCD 100 = 3 + 2 + 1
        for (int turn = 0; turn < 3; turn++)
        {
            var counts = Count(b.Pick, b.WheelSize);
            Assert.Equal(3, counts["a:1"]);
            Assert.Equal(2, counts["b:1"]);
            Assert.Equal(1, counts["c:1"]);
        }
    }

    [Fact]
    public void RoundRobin_wheel_is_shuffled_deterministically_by_seed()
    {
        (string, int)[] targets = [("a:1", 50), ("b:1", 50), ("c:1", 50), ("d:1", 50), ("e:1", 7)];
        string Order(int seed)
        {
            var b = Balancer.Create(targets, new BalancerSettings { Seed = seed });
            var order = new List<string>();
            for (int i = 0; i < ((RoundRobinBalancer)b).WheelSize; i++)
                order.Add(b.Pick()!.Address);
            return string.Join(",", order);
        }
        Assert.Equal(Order(1), Order(1));
        Assert.NotEqual(Order(1), Order(2));
        // Shuffled: the 50 "a" entries are not all served first.
        Assert.False(Order(1).StartsWith(string.Join(",", Enumerable.Repeat("a:1", 50)), StringComparison.Ordinal));
    }

    [Fact]
    public void RoundRobin_is_exact_under_concurrent_picks()
    {
        var b = (RoundRobinBalancer)Build(BalancerAlgorithm.RoundRobin, ("a:1", 3), ("b:1", 1));
        int turns = 10_000, a = 0;
        Parallel.For(0, b.WheelSize * turns, _ =>
        {
            if (b.Pick()!.Address == "a:1")
                Interlocked.Increment(ref a);
        });
        Assert.Equal(3 * turns, a);
    }

    // ---- consistent hashing ----

    [Fact]
    public void ConsistentHashing_spreads_1000_keys_within_10_percent_over_equal_targets()
    {
        var b = Build(BalancerAlgorithm.ConsistentHashing, Equal(4));
        int keys = 1000;
        var counts = new Dictionary<string, int>();
        for (int i = 0; i < keys; i++)
        {
            var t = b.Pick($"consumer-{i}")!;
            counts[t.Address] = counts.GetValueOrDefault(t.Address) + 1;
        }
        Assert.Equal(4, counts.Count);
        foreach (var n in counts.Values)
            Assert.InRange(n, 250 - 25, 250 + 25);
    }

    [Fact]
    public void ConsistentHashing_points_follow_weights()
    {
        var b = Build(BalancerAlgorithm.ConsistentHashing, ("heavy:1", 300), ("light:1", 100));
        var counts = new Dictionary<string, int>();
        for (int i = 0; i < 20_000; i++)
        {
            var t = b.Pick("k" + i)!;
            counts[t.Address] = counts.GetValueOrDefault(t.Address) + 1;
        }
        Assert.InRange(counts["heavy:1"] / 20_000.0, 0.70, 0.80);
    }

    [Fact]
    public void ConsistentHashing_same_key_same_target_across_calls_and_rebuilds()
    {
        var first = Build(BalancerAlgorithm.ConsistentHashing, Equal(5));
        var second = Build(BalancerAlgorithm.ConsistentHashing, Equal(5));
        for (int i = 0; i < 500; i++)
        {
            string key = "192.168.1." + i;
            var t = first.Pick(key)!;
            Assert.Same(t, first.Pick(key));
            Assert.Equal(t.Address, second.Pick(key)!.Address);
            // A string key and its UTF-8 bytes are the same key.
            Assert.Same(t, first.Pick(System.Text.Encoding.UTF8.GetBytes(key)));
        }
    }

    [Fact]
    public void ConsistentHashing_removing_one_target_remaps_about_one_in_n_keys()
    {
        const int n = 10, keys = 10_000;
        var all = Equal(n);
        var before = Build(BalancerAlgorithm.ConsistentHashing, all);
        var after = Build(BalancerAlgorithm.ConsistentHashing, all[..^1]);
        string removed = all[^1].Item1;
        int moved = 0, movedFromRemoved = 0, onRemoved = 0;
        for (int i = 0; i < keys; i++)
        {
            string key = "user-" + i;
            string was = before.Pick(key)!.Address, now = after.Pick(key)!.Address;
            if (was == removed)
                onRemoved++;
            if (was != now)
            {
                moved++;
                if (was == removed)
                    movedFromRemoved++;
            }
        }
        Assert.Equal(onRemoved, movedFromRemoved);
        // The removed target's own keys (~1/N) must move. Because the continuum keeps `slots` points, the
        // survivors gain its points and those capture a few more keys; a naive modulo hash would move ~90%.
        Assert.InRange(moved / (double)keys, 0.5 / n, 2.0 / n);
    }

    [Fact]
    public void ConsistentHashing_unhealthy_owner_passes_its_keys_on_and_others_stay()
    {
        var b = Build(BalancerAlgorithm.ConsistentHashing, Equal(4));
        var before = new string[1000];
        for (int i = 0; i < before.Length; i++)
            before[i] = b.Pick("k" + i)!.Address;
        b.Health.SetHealthy(0, false);
        for (int i = 0; i < before.Length; i++)
        {
            string now = b.Pick("k" + i)!.Address;
            Assert.NotEqual(b.Targets[0].Address, now);
            if (before[i] != b.Targets[0].Address)
                Assert.Equal(before[i], now);
        }
        b.Health.SetHealthy(0, true);
        for (int i = 0; i < before.Length; i++)
            Assert.Equal(before[i], b.Pick("k" + i)!.Address);
    }

    [Fact]
    public void ConsistentHashing_without_a_key_spreads_by_weight()
    {
        var b = Build(BalancerAlgorithm.ConsistentHashing, Equal(2));
        var counts = Count(() => b.Pick((string?)null), 10_000);
        Assert.InRange(counts["10.0.0.1:8080"], 4000, 6000);
    }

    [Fact]
    public void ConsistentHashing_rejects_too_few_slots()
    {
        var e = Assert.Throws<BalancerConfigurationException>(() => Balancer.Create(Equal(2),
            new BalancerSettings { Algorithm = BalancerAlgorithm.ConsistentHashing, Slots = 999 }));
        Assert.Contains("999", e.Message);
    }

    [Fact]
    public void Xxhash32_matches_the_published_test_vectors()
    {
        Assert.Equal(0x02CC5D05u, ConsistentHashingBalancer.Hash([]));
        Assert.Equal(0x32D153FFu, ConsistentHashingBalancer.Hash("abc"u8));
    }

    // ---- least connections ----

    [Fact]
    public void LeastConnections_prefers_the_idle_target()
    {
        var b = Build(BalancerAlgorithm.LeastConnections, Equal(3));
        using var l1 = b.Acquire();
        using var l2 = b.Acquire();
        using var l3 = b.Acquire();
        Assert.Equal(3, new[] { l1.Target, l2.Target, l3.Target }.Select(t => t!.Index).Distinct().Count());
        l2.Dispose();
        // Only l2's target is idle now; it is picked again until it is as busy as the others.
        using var l4 = b.Acquire();
        Assert.Same(l2.Target, l4.Target);
        Assert.Equal(1, ((LeastConnectionsBalancer)b).ActiveConnections(l4.Target!.Index));
    }

    [Fact]
    public void LeastConnections_respects_weights()
    {
        var b = (LeastConnectionsBalancer)Build(BalancerAlgorithm.LeastConnections, ("big:1", 300), ("small:1", 100));
        var leases = new List<BalancerLease>();
        for (int i = 0; i < 400; i++)
            leases.Add(b.Acquire());
        // Held connections settle in proportion to weight: (active + 1) / weight stays level.
        Assert.InRange(b.ActiveConnections(0), 299, 301);
        Assert.InRange(b.ActiveConnections(1), 99, 101);
        foreach (var lease in leases)
            lease.Dispose();
        Assert.Equal(0, b.ActiveConnections(0));
        Assert.Equal(0, b.ActiveConnections(1));
    }

    [Fact]
    public void LeastConnections_spreads_ties_between_idle_targets()
    {
        var b = Build(BalancerAlgorithm.LeastConnections, Equal(3));
        var counts = new Dictionary<string, int>();
        for (int i = 0; i < 300; i++)
        {
            using var lease = b.Acquire();
            counts[lease.Target!.Address] = counts.GetValueOrDefault(lease.Target.Address) + 1;
        }
        Assert.All(counts.Values, n => Assert.Equal(100, n));
    }

    // ---- health and weight 0, for every algorithm ----

    public static TheoryData<BalancerAlgorithm> Algorithms =>
        [BalancerAlgorithm.RoundRobin, BalancerAlgorithm.ConsistentHashing, BalancerAlgorithm.LeastConnections];

    [Theory, MemberData(nameof(Algorithms))]
    public void Unhealthy_targets_are_skipped_and_all_unhealthy_returns_null(BalancerAlgorithm algorithm)
    {
        var b = Build(algorithm, Equal(3));
        b.Health.SetHealthy(b.IndexOf("10.0.0.2:8080"), false);
        for (int i = 0; i < 1000; i++)
        {
            using var lease = b.Acquire("key-" + i);
            Assert.NotNull(lease.Target);
            Assert.NotEqual("10.0.0.2:8080", lease.Target!.Address);
        }
        b.Health.SetHealthy(0, false);
        b.Health.SetHealthy(2, false);
        Assert.False(b.Health.AnyPickable);
        Assert.Null(b.Pick("key"));
        using (var none = b.Acquire("key"))
            Assert.Null(none.Target);
        b.Health.SetHealthy(1, true);
        Assert.Equal("10.0.0.2:8080", b.Pick("key")!.Address);
    }

    [Theory, MemberData(nameof(Algorithms))]
    public void Weight_zero_targets_are_never_picked(BalancerAlgorithm algorithm)
    {
        var b = Build(algorithm, ("on:1", 10), ("off:1", 0), ("on:2", 20));
        for (int i = 0; i < 2000; i++)
        {
            using var lease = b.Acquire("k" + i);
            Assert.NotEqual("off:1", lease.Target!.Address);
        }
        // A disabled target that is healthy does not keep the upstream up.
        b.Health.SetHealthy(0, false);
        b.Health.SetHealthy(2, false);
        Assert.Null(b.Pick("k"));
    }

    [Theory, MemberData(nameof(Algorithms))]
    public void No_targets_or_only_disabled_ones_returns_null(BalancerAlgorithm algorithm)
    {
        Assert.Null(Build(algorithm).Pick("k"));
        Assert.Null(Build(algorithm, ("off:1", 0)).Pick("k"));
    }

    // ---- validation ----

    [Theory]
    [InlineData("10.0.0.1:8080", 65536)]
    [InlineData("10.0.0.1:8080", -1)]
    [InlineData("10.0.0.1", 100)]
    [InlineData("10.0.0.1:0", 100)]
    [InlineData("[::1:80", 100)]
    public void Bad_targets_are_rejected_naming_the_value(string address, int weight)
    {
        var e = Assert.Throws<BalancerConfigurationException>(() =>
            Balancer.Create([(address, weight)], new BalancerSettings()));
        Assert.Contains(address, e.Message);
    }

    [Fact]
    public void Ipv6_targets_parse_and_duplicates_are_rejected()
    {
        var b = Build(BalancerAlgorithm.RoundRobin, ("[::1]:8443", 1));
        Assert.Equal("::1", b.Targets[0].Host);
        Assert.Equal(8443, b.Targets[0].Port);
        Assert.Throws<BalancerConfigurationException>(() => Build(BalancerAlgorithm.RoundRobin, ("a:1", 1), ("a:1", 2)));
    }

    [Fact]
    public void Algorithm_names_parse_as_kong_spells_them()
    {
        Assert.Equal(BalancerAlgorithm.ConsistentHashing, BalancerSettings.ParseAlgorithm("consistent-hashing"));
        Assert.Equal(BalancerAlgorithm.Latency, BalancerSettings.ParseAlgorithm("latency"));
        var e = Assert.Throws<BalancerConfigurationException>(() => BalancerSettings.ParseAlgorithm("fastest"));
        Assert.Contains("'fastest'", e.Message);
    }
}
