using System.Net;
using System.Text.Json.Nodes;
using Gantry.Proxy;
using Gantry.Routing;
using Microsoft.AspNetCore.Http;

namespace Gantry.Tests.Balancing;

/// <summary>What consistent hashing hashes for a request, for every hash_on input and the fallback.</summary>
public sealed class UpstreamHashInputTests
{
    private static UpstreamHashInput Input(string json) => UpstreamHashInput.From(Upstream(JsonNode.Parse(json)!.AsObject()));

    /// <summary>A stored upstream row read as the snapshot builder reads it: the schema's defaults fill what the row lacks.</summary>
    internal static Gantry.Entities.Records.UpstreamRecord Upstream(JsonObject row)
    {
        row["name"] ??= "pool";
        return Gantry.Entities.Records.EntityRecords.Read<Gantry.Entities.Records.UpstreamRecord>(Gantry.Entities.Definitions.Upstreams.Schema, row);
    }

    private static RouteMatch Match(RouteCaptures? captures = null) => new(new RouteDefinition { Id = Guid.NewGuid() }, "/", "", captures);

    private static DefaultHttpContext Request(string path = "/", string query = "")
    {
        var http = new DefaultHttpContext();
        http.Request.Path = path;
        http.Request.QueryString = new QueryString(query);
        http.Connection.RemoteIpAddress = IPAddress.Parse("192.0.2.7");
        return http;
    }

    [Fact]
    public void None_hashes_nothing()
    {
        var http = Request();
        Assert.Null(Input("""{"hash_on": "none"}""").Key(http, Match()));
        Assert.Same(UpstreamHashInput.None, Input("""{"hash_on": "none"}"""));
    }

    [Fact]
    public async Task Round_robin_without_health_checks_serves_a_request_without_allocating()
    {
        // The proxy's balancing steps for a plain upstream: no hash, pick, destination, Host, outcome.
        await using var registry = new Gantry.Balancing.HealthRegistry(Guid.NewGuid(), Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);
        var upstream = Upstream(JsonNode.Parse("""{"id": "6f9619ff-8b86-d011-b42d-00c04fc964ff", "name": "pool"}""")!.AsObject());
        var definition = Gantry.Balancing.UpstreamDefinition.From(upstream, [("10.0.0.1:80", 100), ("10.0.0.2:8080", 100)]);
        var health = (await registry.ApplyAsync([definition], CancellationToken.None))[definition.Id];
        var balancer = new UpstreamBalancer(health, null, UpstreamHashInput.From(upstream));
        var http = Request();
        var match = Match();
        void Serve()
        {
            using var lease = balancer.Balancer.Acquire(balancer.HashInput.Key(http, match));
            var target = lease.Target!;
            _ = target.Destination("http");
            _ = balancer.HostHeader ?? target.HostHeader("http");
            balancer.ReportOutcome(target, Yarp.ReverseProxy.Forwarder.ForwarderError.None, 200);
        }
        Serve();
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 1000; i++)
            Serve();
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Fact]
    public void Ip_path_and_query_arg()
    {
        var http = Request("/a/b", "?user=1&user=2");
        Assert.Equal("192.0.2.7", Input("""{"hash_on": "ip"}""").Key(http, Match()));
        Assert.Equal("/a/b", Input("""{"hash_on": "path"}""").Key(http, Match()));
        // A repeated argument hashes all of its values.
        Assert.Equal("1,2", Input("""{"hash_on": "query_arg", "hash_on_query_arg": "user"}""").Key(http, Match()));
    }

    [Fact]
    public void Repeated_headers_are_joined()
    {
        var http = Request();
        http.Request.Headers.Append("X-Tenant", "a");
        http.Request.Headers.Append("X-Tenant", "b");
        Assert.Equal("a,b", Input("""{"hash_on": "header", "hash_on_header": "x-tenant"}""").Key(http, Match()));
    }

    [Fact]
    public void Consumer_is_read_from_the_request_items_and_falls_back_when_absent()
    {
        var input = Input("""{"hash_on": "consumer", "hash_fallback": "header", "hash_fallback_header": "X-Id"}""");
        var http = Request();
        http.Request.Headers["X-Id"] = "h";
        Assert.Equal("h", input.Key(http, Match()));
        var consumer = Guid.NewGuid();
        http.Items[ProxyRequestContext.ConsumerKey] = consumer;
        Assert.Equal(consumer.ToString(), input.Key(http, Match()));
        // Something other than a Guid is not a consumer id.
        http.Items[ProxyRequestContext.ConsumerKey] = "not-a-guid";
        Assert.Equal("h", input.Key(http, Match()));
    }

    [Fact]
    public void Uri_capture_by_name_or_number_and_both_missing_is_no_hash()
    {
        var captures = new RouteCaptures(["/users/42", "42"], new Dictionary<string, string> { ["id"] = "42" });
        var named = Input("""{"hash_on": "uri_capture", "hash_on_uri_capture": "id", "hash_fallback": "query_arg", "hash_fallback_query_arg": "q"}""");
        Assert.Equal("42", named.Key(Request(), Match(captures)));
        Assert.Equal("42", Input("""{"hash_on": "uri_capture", "hash_on_uri_capture": "1"}""").Key(Request(), Match(captures)));
        Assert.Equal("x", named.Key(Request(query: "?q=x"), Match()));
        Assert.Null(named.Key(Request(), Match()));
    }

    [Fact]
    public void A_missing_cookie_is_created_and_sent_back_with_its_path()
    {
        var input = Input("""{"hash_on": "cookie", "hash_on_cookie": "sticky", "hash_on_cookie_path": "/shop"}""");
        var http = Request();
        var key = input.Key(http, Match());
        Assert.True(Guid.TryParse(key, out _));
        Assert.Equal($"sticky={key}; Path=/shop", http.Response.Headers.SetCookie.ToString());

        var returning = Request();
        returning.Request.Headers.Cookie = "sticky=abc";
        Assert.Equal("abc", input.Key(returning, Match()));
        Assert.Equal(0, returning.Response.Headers.SetCookie.Count);
    }
}
