// 10,000 expression routes (router_flavor = expressions): how long the router takes to build, how long a
// request takes to find its route, and what the router holds in memory. The mix is bench/README.md's.
using System.Diagnostics;
using System.Net;
using Gantry.Routing;

var count = args.Length > 0 ? int.Parse(args[0]) : 10_000;
const int rounds = 5;

static string Expression(int i) => (i % 4) switch
{
    0 => $"http.host == \"h{i}.example.com\" && http.path ^= \"/svc{i}/\"",
    1 => $"http.path ^= \"/svc{i}/\" && net.src.ip in 127.0.0.0/8",
    2 => $"http.path ^= \"/svc{i}/items\" && (http.method == \"GET\" || http.method == \"HEAD\")",
    _ => $"http.path ~ r#\"^/re{i}/(?<id>\\d+)$\"# && lower(http.method) != \"post\"",
};

static (string Host, string Path) RequestFor(int i) => (i % 4) switch
{
    0 => ($"h{i}.example.com", $"/svc{i}/x"),
    1 => ("any.test", $"/svc{i}/x"),
    2 => ("any.test", $"/svc{i}/items/1"),
    _ => ("any.test", $"/re{i}/77"),
};

var routes = new RouteDefinition[count];
for (var i = 0; i < count; i++)
    routes[i] = new RouteDefinition { Id = Guid.NewGuid(), Name = "r" + i, Expression = Expression(i), Priority = i % 7 };

var connection = new RequestConnection(IPAddress.Loopback, 40000, IPAddress.Loopback, 8000, null);
var builds = new List<double>();
var matches = new List<double>();
long memory = 0;
for (var round = 0; round < rounds; round++)
{
    GC.Collect();
    GC.WaitForPendingFinalizers();
    var before = GC.GetTotalMemory(true);
    var clock = Stopwatch.StartNew();
    var router = Router.Build(routes);
    builds.Add(clock.Elapsed.TotalMilliseconds);
    memory = GC.GetTotalMemory(true) - before;

    clock.Restart();
    for (var i = 0; i < count; i++)
    {
        var (host, path) = RequestFor(i);
        var match = router.Match("GET", host, 80, path, new NoRequestHeaders(), null, false, connection);
        if (match?.Route.Name != "r" + i)
            throw new InvalidOperationException($"request {i} ({host}{path}) matched {match?.Route.Name ?? "nothing"}");
    }
    matches.Add(clock.Elapsed.TotalMicroseconds / count);
    GC.KeepAlive(router);
}

static double Median(List<double> values) => values.Order().ElementAt(values.Count / 2);
Console.WriteLine($"routes: {count}, rounds: {rounds}");
Console.WriteLine($"build: median {Median(builds):F0} ms (first {builds[0]:F0} ms)");
Console.WriteLine($"match: median {Median(matches):F1} µs per request (each route once, all matched)");
Console.WriteLine($"memory held by the router: {memory / (1024.0 * 1024):F1} MiB");
