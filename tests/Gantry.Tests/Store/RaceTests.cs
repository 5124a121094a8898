using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Http.Json;
using Gantry.Tests.Support;
using Xunit.Abstractions;

namespace Gantry.Tests.Store;

/// <summary>
/// 20 clients writing the same few names at once for a bounded time (GANTRY_RACE_SECONDS, 12 by default):
/// services and their routes and plugins, upstreams and their targets, consumers and their key-auth
/// credentials, parents deleted while children are created under them. No answer may be a 5xx, and
/// afterwards the store must hold no duplicate and no dangling reference, in the entity tables and in
/// the tags index.
/// </summary>
public abstract class RaceTests(string store, ITestOutputHelper output)
{
    private const int Clients = 20;
    private const int Names = 3;

    private static readonly string[] Entities = ["services", "routes", "plugins", "upstreams", "targets", "consumers", "keyauth_credentials"];

    [Fact]
    public async Task Concurrent_writes_on_the_same_names_answer_no_5xx_and_leave_no_dangling_rows()
    {
        await using var installation = await TestInstallation.CreateAsync(store);
        await using var node = await ProxyNode.StartAsync(installation);
        using var http = new HttpClient { BaseAddress = new Uri(installation.AdminUrl), Timeout = TimeSpan.FromSeconds(60) };
        var duration = TimeSpan.FromSeconds(double.Parse(Environment.GetEnvironmentVariable("GANTRY_RACE_SECONDS") ?? "12", System.Globalization.CultureInfo.InvariantCulture));

        var statuses = new ConcurrentDictionary<int, int>();
        var failures = new ConcurrentQueue<string>();
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, Clients).Select(client => Task.Run(async () =>
        {
            var random = new Random(client);
            while (clock.Elapsed < duration)
            {
                var (method, path, body) = NextRequest(random);
                using var request = new HttpRequestMessage(method, path) { Content = body is null ? null : JsonContent.Create(body, body.GetType()) };
                using var response = await http.SendAsync(request);
                var status = (int)response.StatusCode;
                statuses.AddOrUpdate(status, 1, (_, n) => n + 1);
                if (status >= 500)
                    failures.Enqueue($"{method} {path} → {status} {await response.Content.ReadAsStringAsync()}");
            }
        })));

        var total = statuses.Values.Sum();
        var histogram = string.Join(", ", statuses.OrderBy(s => s.Key).Select(s => $"{s.Key}: {s.Value}"));
        var deadlocks = installation.IsPostgres ? await installation.CountAsync("SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()") : 0;
        output.WriteLine($"race on {store}: {total} requests in {clock.Elapsed.TotalSeconds:F0} s; statuses {histogram}; answers >= 500: {failures.Count}; deadlocks detected: {deadlocks}");
        Assert.True(failures.IsEmpty, $"{failures.Count} answers >= 500 of {total}, e.g.:\n{string.Join("\n", failures.Take(10))}");
        // The run raced something: parents and children were both created and deleted.
        Assert.True(statuses.GetValueOrDefault(201) > 0 && statuses.GetValueOrDefault(204) > 0, histogram);

        foreach (var (table, column) in new[] { ("services", "name"), ("routes", "name"), ("upstreams", "name"), ("consumers", "username"), ("keyauth_credentials", "key") })
            Assert.Equal(0, await installation.CountAsync($"SELECT count(*) FROM (SELECT {column} FROM {table} WHERE {column} IS NOT NULL GROUP BY {column} HAVING count(*) > 1) d"));
        Assert.Equal(0, await installation.CountAsync("SELECT count(*) FROM (SELECT upstream_id, target FROM targets GROUP BY upstream_id, target HAVING count(*) > 1) d"));
        foreach (var (child, column, parent) in new[]
                 {
                     ("routes", "service_id", "services"), ("plugins", "service_id", "services"), ("plugins", "route_id", "routes"),
                     ("plugins", "consumer_id", "consumers"), ("targets", "upstream_id", "upstreams"), ("keyauth_credentials", "consumer_id", "consumers"),
                 })
        {
            Assert.True(0 == await installation.CountAsync($"SELECT count(*) FROM {child} c WHERE c.{column} IS NOT NULL AND NOT EXISTS (SELECT 1 FROM {parent} p WHERE p.id = c.{column})"),
                $"{child} pointing at a missing {parent}");
        }
        foreach (var entity in Entities)
        {
            Assert.True(0 == await installation.CountAsync($"SELECT count(*) FROM tags t WHERE t.entity_name = '{entity}' AND NOT EXISTS (SELECT 1 FROM {entity} e WHERE e.id = t.entity_id)"),
                $"tags of a missing {entity}");
            var tagsOfRows = installation.IsPostgres ? $"SELECT coalesce(sum(cardinality(tags)), 0) FROM {entity}" : $"SELECT coalesce(sum(json_array_length(tags)), 0) FROM {entity}";
            Assert.Equal(await installation.CountAsync(tagsOfRows), await installation.CountAsync($"SELECT count(*) FROM tags WHERE entity_name = '{entity}'"));
        }
        Assert.True(await installation.CountAsync("SELECT count(*) FROM tags") > 0);
    }

    /// <summary>One request on one of a few names: mostly creates and replaces, with deletes of parents and children among them.</summary>
    private static (HttpMethod Method, string Path, object? Body) NextRequest(Random random)
    {
        var i = random.Next(Names);
        var j = random.Next(Names);
        string[] tags = ["race", $"tag-{random.Next(3)}"];
        return random.Next(16) switch
        {
            0 => (HttpMethod.Put, $"/services/s{i}", new { url = $"http://s{i}.test:80", tags }),
            1 => (HttpMethod.Delete, $"/services/s{i}", null),
            2 => (HttpMethod.Post, $"/services/s{i}/routes", new { name = $"r{j}", paths = new[] { $"/r{j}" }, tags }),
            3 => (HttpMethod.Put, $"/services/s{i}/routes/r{j}", new { paths = new[] { $"/r{j}", $"/x{random.Next(9)}" }, tags }),
            4 => (HttpMethod.Delete, $"/routes/r{j}", null),
            5 => (HttpMethod.Patch, $"/routes/r{j}", new { paths = new[] { $"/p{random.Next(9)}" }, tags }),
            6 => (HttpMethod.Post, $"/services/s{i}/plugins", new { name = "key-auth", tags }),
            7 => (HttpMethod.Put, $"/upstreams/u{i}", new { tags }),
            8 => (HttpMethod.Delete, $"/upstreams/u{i}", null),
            9 => (HttpMethod.Post, $"/upstreams/u{i}/targets", new { target = $"t{j}.test:80", tags }),
            10 => (HttpMethod.Delete, $"/upstreams/u{i}/targets/t{j}.test:80", null),
            11 => (HttpMethod.Put, $"/consumers/c{i}", new { tags }),
            12 => (HttpMethod.Delete, $"/consumers/c{i}", null),
            13 => (HttpMethod.Post, $"/consumers/c{i}/key-auth", new { key = $"k{i}-{j}", tags }),
            14 => (HttpMethod.Delete, $"/consumers/c{i}/key-auth/k{i}-{j}", null),
            _ => (HttpMethod.Put, $"/consumers/c{i}/key-auth/k{j}", new { tags }),
        };
    }
}

public sealed class SqliteRaceTests(ITestOutputHelper output) : RaceTests("sqlite", output);

public sealed class PostgresRaceTests(ITestOutputHelper output) : RaceTests("postgres", output);
