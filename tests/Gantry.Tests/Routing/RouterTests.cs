using System.Diagnostics;
using Gantry.Routing;
using Microsoft.Extensions.Primitives;
using Xunit.Abstractions;

namespace Gantry.Tests.Routing;

public sealed class RouterTests(ITestOutputHelper output)
{
    private static Guid IdOf(int n) => new($"00000000-0000-0000-0000-{n:D12}");

    private static RouteDefinition R(int n, string[]? paths = null, string[]? hosts = null, string[]? methods = null,
        Dictionary<string, IReadOnlyList<string>>? headers = null, string[]? snis = null, int regexPriority = 0,
        bool strip = true, string? servicePath = null) => new()
    {
        Id = IdOf(n),
        Name = "r" + n,
        Paths = paths,
        Hosts = hosts,
        Methods = methods,
        Headers = headers,
        Snis = snis,
        RegexPriority = regexPriority,
        StripPath = strip,
        ServicePath = servicePath,
    };

    private readonly struct Headers(Dictionary<string, StringValues> values) : IRequestHeaders
    {
        public StringValues Get(string name) => values.TryGetValue(name, out var v) ? v : StringValues.Empty;
    }

    private static Headers H(params (string Name, string[] Values)[] pairs)
    {
        var d = new Dictionary<string, StringValues>(StringComparer.OrdinalIgnoreCase);
        foreach (var (name, values) in pairs)
            d[name] = new StringValues(values);
        return new Headers(d);
    }

    private static RouteMatch? M(Router router, string path, string host = "example.com", string method = "GET",
        Headers? headers = null, string? sni = null, bool https = false, int port = 80) =>
        router.Match(method, host, port, path, headers ?? H(), sni, https);

    private static string? Name(Router router, string path, string host = "example.com", string method = "GET",
        Headers? headers = null, string? sni = null, bool https = false, int port = 80) =>
        M(router, path, host, method, headers, sni, https, port)?.Route.Name;

    [Fact]
    public void Equal_priority_goes_to_the_larger_id()
    {
        var router = Router.Build([R(1, ["/a"]), R(3, ["/a"]), R(2, ["/a"])]);
        Assert.Equal("r3", Name(router, "/a/x"));
    }

    [Fact]
    public void Hosts_exact_suffix_and_prefix_wildcards()
    {
        var router = Router.Build([
            R(1, hosts: ["*.example.com"]),
            R(2, hosts: ["example.*"]),
            R(3, hosts: ["api.example.com"]),
            R(4, hosts: ["Mixed.Case.ORG"]),
        ]);
        Assert.Equal("r1", Name(router, "/", "www.example.com"));
        Assert.Equal("r1", Name(router, "/", "a.b.example.com"));
        Assert.Equal("r2", Name(router, "/", "example.org"));
        Assert.Equal("r2", Name(router, "/", "example.co.uk"));
        // Plain-hosts-only outranks a wildcard that also matches.
        Assert.Equal("r3", Name(router, "/", "api.example.com"));
        Assert.Equal("r4", Name(router, "/", "mixed.case.org"));
        // The wildcard stands for at least one label.
        Assert.Equal("r2", Name(router, "/", "example.com.evil"));
        Assert.Null(Name(router, "/", "notexample.com"));
        Assert.Null(Name(router, "/", ".example.com"));
        Assert.Null(Name(router, "/", "example"));
        Assert.Null(Name(router, "/", "other.net"));
    }

    [Fact]
    public void Host_with_port_needs_the_port_from_the_host_header_or_else_the_listener()
    {
        var router = Router.Build([R(1, hosts: ["example.com:8000"]), R(2, hosts: ["*.example.com:9000"])]);
        Assert.Equal("r1", Name(router, "/", "example.com:8000"));
        Assert.Equal("r1", Name(router, "/", "example.com", port: 8000));
        Assert.Null(Name(router, "/", "example.com", port: 80));
        Assert.Null(Name(router, "/", "example.com:8001", port: 8000));
        Assert.Equal("r2", Name(router, "/", "a.example.com:9000"));
        Assert.Null(Name(router, "/", "a.example.com:8000"));
    }

    [Fact]
    public void Regex_outranks_plain_prefix_and_is_anchored_at_the_start()
    {
        var router = Router.Build([R(1, ["/users"]), R(2, [@"~/users/\d+$"]), R(3, [@"~/x/\d+"])]);
        Assert.Equal("r2", Name(router, "/users/12"));
        Assert.Equal("r1", Name(router, "/users/abc"));
        Assert.Null(Name(router, "/a/x/12"));
        Assert.Equal("r3", Name(router, "/x/12/y"));
    }

    [Fact]
    public void Regex_priority_orders_regex_routes_including_negative_values()
    {
        var router = Router.Build([
            R(1, [@"~/p/\w+"], regexPriority: -5),
            R(2, [@"~/p/\d+"], regexPriority: 0),
            R(3, [@"~/p/1"], regexPriority: 10),
        ]);
        Assert.Equal("r3", Name(router, "/p/1"));
        Assert.Equal("r2", Name(router, "/p/2"));
        Assert.Equal("r1", Name(router, "/p/b"));
    }

    [Fact]
    public void Longer_prefix_wins_across_routes_and_within_one_route()
    {
        var router = Router.Build([R(1, ["/a"]), R(2, ["/a/b"]), R(3, ["/a/b/c/d", "/z"])]);
        Assert.Equal("r2", Name(router, "/a/b/c"));
        Assert.Equal("r1", Name(router, "/a/x"));
        // Route 3's long prefix is its own sub-route, so it outranks route 2...
        Assert.Equal("r3", Name(router, "/a/b/c/d/e"));
        // ...while its short one ranks by its own length.
        Assert.Equal("r3", Name(router, "/z"));
        // Plain paths are string prefixes, not segment prefixes.
        Assert.Equal("r1", Name(router, "/abc"));
        Assert.Null(Name(router, "/b"));
    }

    [Fact]
    public void More_fields_win_over_a_longer_prefix()
    {
        var router = Router.Build([R(1, ["/a/long/prefix"]), R(2, ["/"], methods: ["GET"])]);
        Assert.Equal("r2", Name(router, "/a/long/prefix"));
        Assert.Equal("r1", Name(router, "/a/long/prefix", method: "POST"));
    }

    [Fact]
    public void Methods_match_exactly()
    {
        var router = Router.Build([R(1, methods: ["get", "POST"])]);
        Assert.Equal("r1", Name(router, "/", method: "GET"));
        Assert.Equal("r1", Name(router, "/", method: "POST"));
        Assert.Null(Name(router, "/", method: "PUT"));
    }

    [Fact]
    public void Headers_match_case_insensitively_any_value_and_by_regex()
    {
        var router = Router.Build([
            R(1, ["/"]),
            R(2, ["/"], headers: new() { ["X-Version"] = ["v1", "v2"] }),
            R(3, ["/"], headers: new() { ["x-version"] = ["~*^beta-\\d+$"] }),
            R(4, ["/"], headers: new() { ["x-version"] = ["v1"], ["x-tier"] = ["gold"] }),
        ]);
        Assert.Equal("r2", Name(router, "/", headers: H(("x-version", ["V1"]))));
        Assert.Equal("r2", Name(router, "/", headers: H(("X-VERSION", ["nope", "v2"]))));
        Assert.Equal("r3", Name(router, "/", headers: H(("x-version", ["BETA-7"]))));
        // More headers rank higher when the field count ties.
        Assert.Equal("r4", Name(router, "/", headers: H(("x-version", ["v1"]), ("x-tier", ["Gold"]))));
        Assert.Equal("r1", Name(router, "/", headers: H(("x-version", ["v3"]))));
        Assert.Equal("r1", Name(router, "/"));
    }

    [Fact]
    public void Snis_are_checked_only_over_https_and_ignore_a_trailing_dot()
    {
        var router = Router.Build([R(1, ["/"]), R(2, ["/"], snis: ["secure.example.com."])]);
        Assert.Equal("r2", Name(router, "/", sni: "secure.example.com", https: true));
        Assert.Equal("r2", Name(router, "/", sni: "secure.example.com.", https: true));
        Assert.Equal("r1", Name(router, "/", sni: "other.example.com", https: true));
        Assert.Equal("r1", Name(router, "/", https: true));
        Assert.Equal("r2", Name(router, "/", sni: null, https: false));
    }

    // Every row of the v0 table: service path, strip_path, route path, request path, upstream path.
    [Theory]
    // base ends with '/', strip_path true
    [InlineData("/", true, "/r", "/r", "/")]
    [InlineData("/", true, "/r", "/r/x", "/x")]
    [InlineData(null, true, "/r", "/r/x", "/x")]
    [InlineData("/s/", true, "/r/", "/r/", "/s/")]
    [InlineData("/s/", true, "/r", "/r", "/s")]
    [InlineData("/s/", true, "/r", "/r/x", "/s/x")]
    [InlineData("/s/", true, "/r/", "/r/x", "/s/x")]
    [InlineData("/s/", true, "/r", "/r/", "/s/")]
    // base ends with '/', strip_path false
    [InlineData("/", false, "/r", "/r/x", "/r/x")]
    [InlineData("/s/", false, "/r", "/r/x", "/s/r/x")]
    [InlineData("/s/", false, "/", "/", "/s/")]
    // base without trailing '/', strip_path true
    [InlineData("/s", true, "/r", "/r", "/s")]
    [InlineData("/s", true, "/r/", "/r/", "/s/")]
    [InlineData("/s", true, "/", "/", "/s")]
    [InlineData("/s", true, "/r", "/r/x", "/s/x")]
    [InlineData("/s", true, "/r/", "/r/x", "/s/x")]
    [InlineData("/s", true, "/r", "/rx", "/s/x")]
    // base without trailing '/', strip_path false
    [InlineData("/s", false, "/", "/", "/s")]
    [InlineData("/s", false, "/r", "/r/x", "/s/r/x")]
    [InlineData("/s", false, "/r", "/r/", "/s/r/")]
    public void Upstream_path_v0(string? servicePath, bool strip, string routePath, string requestPath, string expected)
    {
        var router = Router.Build([R(1, [routePath], strip: strip, servicePath: servicePath)]);
        var match = M(router, requestPath);
        Assert.NotNull(match);
        Assert.Equal(expected, match.Value.UpstreamPath);
        Assert.Equal(strip ? routePath : "", match.Value.StrippedPrefix);
    }

    [Fact]
    public void Upstream_path_of_a_pathless_route_and_of_a_regex_route()
    {
        var router = Router.Build([
            R(1, hosts: ["a.test"], servicePath: "/s"),
            R(2, [@"~/v\d+"], hosts: ["b.test"], servicePath: "/s/"),
        ]);
        Assert.Equal("/s/x", M(router, "/x", "a.test")!.Value.UpstreamPath);
        var regex = M(router, "/v12/items", "b.test")!.Value;
        Assert.Equal("/s/items", regex.UpstreamPath);
        Assert.Equal("/v12", regex.StrippedPrefix);
    }

    [Theory]
    [InlineData("/a/b", "/a/b")]
    [InlineData("/a/./b", "/a/b")]
    [InlineData("/a/b/../c", "/a/c")]
    [InlineData("/a/b/..", "/a/")]
    [InlineData("/../../a", "/a")]
    [InlineData("/%7Euser/%41%62", "/~user/Ab")]
    [InlineData("/a%2Fb", "/a%2Fb")]
    [InlineData("/a%2e%2E/b", "/a../b")]
    [InlineData("/a/%2e%2e/b", "/b")]
    [InlineData("/a?x=/../y", "/a")]
    [InlineData("/a/.hidden", "/a/.hidden")]
    [InlineData("/a//b", "/a//b")]
    public void Path_normalisation(string raw, string expected) =>
        Assert.Equal(expected, PathNormalizer.Normalize(raw));

    [Fact]
    public void Normal_paths_are_returned_without_copying()
    {
        const string path = "/already/normal/path.json";
        Assert.Same(path, PathNormalizer.Normalize(path));
    }

    [Fact]
    public void Matching_uses_the_normalised_path_without_its_query()
    {
        var router = Router.Build([R(1, ["/api/v1"], servicePath: "/s")]);
        var match = M(router, "/api/x/../v1/%69tems?q=1");
        Assert.Equal("r1", match?.Route.Name);
        Assert.Equal("/s/items", match!.Value.UpstreamPath);
        Assert.Null(Name(router, "/api/v1/../x"));
    }

    [Fact]
    public void Regex_captures_are_numbered_left_to_right_and_named()
    {
        var router = Router.Build([R(1, [@"~/users/(?<id>\d+)/(\w+)(/(?<rest>.*))?"])]);
        var captures = M(router, "/users/42/posts")!.Value.Captures;
        Assert.NotNull(captures);
        Assert.Equal(["/users/42/posts", "42", "posts", "", ""], captures.Unnamed);
        Assert.Equal("42", captures.Named["id"]);
        Assert.False(captures.Named.ContainsKey("rest"));
        Assert.Null(M(Router.Build([R(2, ["/users"])]), "/users/1")!.Value.Captures);
    }

    [Fact]
    public void Look_around_and_backreferences_match_as_in_PCRE()
    {
        var router = Router.Build([R(1, [@"~/a(?=b)"]), R(2, [@"~/(x)\1$"]), R(3, headers: new() { ["x-kind"] = ["~*^(?!internal)"] })]);
        Assert.Equal("r1", Name(router, "/ab"));
        Assert.Null(M(router, "/ac"));
        Assert.Equal("r2", Name(router, "/xx"));
        Assert.Null(M(router, "/xy"));
        Assert.Equal("r3", Name(router, "/anything", headers: H(("x-kind", ["public"]))));
        Assert.Null(M(router, "/anything", headers: H(("x-kind", ["internal"]))));
    }

    [Fact]
    public void A_route_that_does_not_compile_is_left_out_and_named_the_others_are_served()
    {
        var skipped = new List<(Guid, string)>();
        var router = Router.Build([R(1, ["/ok"]), R(2, [@"~/a++b"]), R(3, ["/also"])], (route, error) => skipped.Add((route.Id, error.Message)));
        Assert.Equal("r1", Name(router, "/ok"));
        Assert.Equal("r3", Name(router, "/also"));
        var (id, message) = Assert.Single(skipped);
        Assert.Equal(IdOf(2), id);
        Assert.Contains("~/a++b", message);
    }

    [Fact]
    public void Invalid_routes_fail_at_build_naming_the_route_and_value()
    {
        // PCRE syntax .NET's engine cannot run: a possessive quantifier, a Python-style named group.
        var possessive = Assert.Throws<RouterConfigurationException>(() => Router.Build([R(1, [@"~/a++b"])]));
        Assert.Contains("r1", possessive.Message);
        Assert.Contains("~/a++b", possessive.Message);
        Assert.Throws<RouterConfigurationException>(() => Router.Build([R(1, [@"~/(?P<x>a)"])]));
        Assert.Throws<RouterConfigurationException>(() => Router.Build([R(1, headers: new() { ["x"] = ["~*a++"] })]));
        Assert.Throws<RouterConfigurationException>(() => Router.Build([R(1, hosts: ["a.*.com"])]));
        Assert.Throws<RouterConfigurationException>(() => Router.Build([R(1, hosts: ["a.com:http"])]));
        Assert.Throws<RouterConfigurationException>(() => Router.Build([R(1, ["relative"])]));
        Assert.Throws<RouterConfigurationException>(() => Router.Build([R(1), R(1)]));
    }

    [Fact]
    public void Plain_requests_allocate_nothing_when_the_upstream_path_is_the_request_path()
    {
        var router = Router.Build([
            R(1, ["/orders"], hosts: ["shop.test"], strip: false),
            R(2, [@"~/other/\d+"], hosts: ["*.elsewhere.test"]),
            R(3, ["/"], methods: ["POST"]),
        ]);
        var headers = new NoRequestHeaders();
        const string path = "/orders/17";
        Assert.Equal("r1", router.Match("GET", "shop.test:80", 80, path, headers, null, false)?.Route.Name);
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 1000; i++)
            router.Match("GET", "shop.test:80", 80, path, headers, null, false);
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Fact]
    public void Ten_thousand_routes_compile_quickly_and_each_request_finds_its_route()
    {
        const int count = 10_000;
        var routes = new List<RouteDefinition>(count);
        for (var i = 0; i < count; i++)
        {
            // A realistic mix: host-bound routes, host-less prefixes that prefix each other
            // (/svc1 is a prefix of /svc12), method-restricted and regex routes.
            routes.Add((i % 4) switch
            {
                0 => R(i, [$"/svc{i}"], hosts: [$"h{i}.example.com"]),
                1 => R(i, [$"/svc{i}"]),
                2 => R(i, [$"/svc{i}/items"], methods: ["GET"]),
                _ => R(i, [$@"~/re{i}/(?<id>\d+)$"]),
            });
        }
        var watch = Stopwatch.StartNew();
        var router = Router.Build(routes);
        watch.Stop();
        output.WriteLine($"compiled {count} routes in {watch.ElapsedMilliseconds} ms");
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(5), $"compiling took {watch.Elapsed}");

        watch.Restart();
        for (var i = 0; i < count; i++)
        {
            var (host, path) = (i % 4) switch
            {
                0 => ($"h{i}.example.com", $"/svc{i}/x"),
                1 => ("any.test", $"/svc{i}/x"),
                2 => ("any.test", $"/svc{i}/items/1"),
                _ => ("any.test", $"/re{i}/77"),
            };
            var match = router.Match("GET", host, 80, path, new NoRequestHeaders(), null, false);
            Assert.Equal("r" + i, match?.Route.Name);
        }
        watch.Stop();
        output.WriteLine($"matched {count} requests in {watch.ElapsedMilliseconds} ms");
    }
}
