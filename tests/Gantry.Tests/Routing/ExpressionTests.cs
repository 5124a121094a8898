using System.Net;
using System.Text.Json.Nodes;
using Gantry.Entities;
using Gantry.Entities.Definitions;
using Gantry.Entities.Schema;
using Gantry.Routing;
using Gantry.Store;
using Gantry.Routing.Expressions;
using Microsoft.Extensions.Primitives;

namespace Gantry.Tests.Routing;

/// <summary>Kong's expression language: what parses, what type-checks, what each operator matches, and where errors point.</summary>
public sealed class ExpressionTests
{
    private readonly struct Headers(Dictionary<string, StringValues> values) : IRequestHeaders
    {
        public StringValues Get(string name) => values.TryGetValue(name, out var v) ? v : StringValues.Empty;
    }

    private static ExpressionRequest<Headers> Request(string method = "GET", string host = "example.com", string path = "/api/users",
        string protocol = "http", string? query = null, string? sni = null, (string, string[])[]? headers = null) =>
        new(method, host, path, protocol, new Headers(
            (headers ?? []).ToDictionary(h => h.Item1, h => new StringValues(h.Item2), StringComparer.OrdinalIgnoreCase)))
        {
            Query = query,
            Sni = sni,
            SourceIp = IPAddress.Parse("10.1.2.3"),
            SourcePort = 50000,
            DestinationIp = IPAddress.Parse("::ffff:127.0.0.1"),
            DestinationPort = 8000,
        };

    private static bool Matches(string expression, ExpressionRequest<Headers>? request = null)
    {
        var path = new ExpressionEvaluator.PathMatch();
        return ExpressionEvaluator.Evaluate(ExpressionParser.Parse(expression), request ?? Request(), ref path);
    }

    public static TheoryData<string, bool> EachFieldAndOperator => new()
    {
        { "http.method == \"GET\"", true },
        { "http.method != \"GET\"", false },
        { "http.host == \"example.com\"", true },
        { "http.host =^ \".com\"", true },
        { "http.host =^ \".org\"", false },
        { "http.path ^= \"/api\"", true },
        { "http.path ^= \"/apx\"", false },
        { "http.path ~ \"^/api/[a-z]+$\"", true },
        { "http.path ~ r#\"^/api/\\d+$\"#", false },
        { "http.path contains \"users\"", true },
        { "http.path contains \"orders\"", false },
        { "lower(http.headers.x_tenant) == \"acme\"", true },
        { "http.headers.x_tenant == \"acme\"", false },
        { "http.headers.x_missing != \"acme\"", false },
        { "http.queries.page == \"2\"", true },
        { "http.queries.page == \"3\"", false },
        { "net.protocol == \"http\"", true },
        { "net.src.ip in 10.0.0.0/8", true },
        { "net.src.ip not in 10.0.0.0/8", false },
        { "net.src.ip == 10.1.2.3", true },
        { "net.dst.ip == 127.0.0.1", true },
        { "net.dst.ip in ::1/128", false },
        { "net.src.port > 49999", true },
        { "net.src.port >= 50001", false },
        { "net.dst.port == 8000", true },
        { "net.dst.port < 8000", false },
        { "net.dst.port <= 8000", true },
        { "net.dst.port == 0x1F40", true },
        { "net.dst.port == 017500", true },
        { "tls.sni == \"example.com\"", false },
        { "http.path.segments.0 == \"api\"", true },
        { "http.path.segments.1 ^= \"use\"", true },
        { "http.path.segments.2 != \"x\"", false },
        { "http.path.segments.0_1 == \"api/users\"", true },
        { "http.path.segments.len == 2", true },
        { "http.path.segments.len > 2", false },
        { "any(http.headers.x_tenant) == \"ACME\"", true },
        { "!(http.method == \"POST\")", true },
        { "!(http.method == \"GET\")", false },
    };

    [Theory]
    [MemberData(nameof(EachFieldAndOperator))]
    public void Each_field_and_operator_matches_as_Kong(string expression, bool expected) =>
        Assert.Equal(expected, Matches(expression, Request(query: "page=2", headers: [("X-Tenant", ["ACME"])])));

    [Theory]
    // && binds tighter than ||: false || (true && true).
    [InlineData("http.method == \"POST\" || http.host == \"example.com\" && http.path ^= \"/api\"", true)]
    // (false || true) && false.
    [InlineData("(http.method == \"POST\" || http.host == \"example.com\") && http.path ^= \"/x\"", false)]
    // true || (false && false): without precedence this would be (true || false) && false.
    [InlineData("http.method == \"GET\" || http.method == \"PUT\" && http.path ^= \"/x\"", true)]
    [InlineData("!(http.method == \"GET\" && http.path ^= \"/x\") && http.host == \"example.com\"", true)]
    public void Precedence_and_parentheses(string expression, bool expected) => Assert.Equal(expected, Matches(expression));

    [Fact]
    public void A_repeated_header_matches_only_when_every_value_does()
    {
        var both = Request(headers: [("X-Env", ["prod", "prod"])]);
        var mixed = Request(headers: [("X-Env", ["prod", "dev"])]);
        Assert.True(Matches("http.headers.x_env == \"prod\"", both));
        Assert.False(Matches("http.headers.x_env == \"prod\"", mixed));
    }

    [Fact]
    public void Any_lets_one_value_of_a_repeated_header_or_argument_suffice()
    {
        var mixed = Request(query: "a=2&a=10", headers: [("X-Env", ["Prod", "dev"])]);
        Assert.False(Matches("http.headers.x_env == \"dev\"", mixed));
        Assert.True(Matches("any(http.headers.x_env) == \"dev\"", mixed));
        Assert.False(Matches("any(http.headers.x_env) == \"prod\"", mixed));
        Assert.True(Matches("any(lower(http.headers.x_env)) == \"prod\"", mixed));
        Assert.True(Matches("lower(any(http.headers.x_env)) == \"prod\"", mixed));
        Assert.False(Matches("any(http.headers.x_env) ~ \"^q\"", mixed));
        Assert.False(Matches("any(http.headers.x_other) != \"dev\"", mixed));
        Assert.False(Matches("http.queries.a == \"2\"", mixed));
        Assert.True(Matches("any(http.queries.a) == \"2\"", mixed));
    }

    // Kong's router spec cases: segments split after the leading '/', trailing empty ones dropped, ranges joined by '/'.
    [Theory]
    [InlineData("/foo", "http.path.segments.0 == \"foo\" && http.path.segments.len == 1", true)]
    [InlineData("/foo/", "http.path.segments.0 == \"foo\" && http.path.segments.len == 1", true)]
    [InlineData("/foo/xxx", "http.path.segments.0 == \"foo\" && http.path.segments.len == 1", false)]
    [InlineData("/", "http.path.segments.len == 0", true)]
    [InlineData("/", "http.path.segments.0 == \"\"", false)]
    [InlineData("/foo/bar/baz/12345", "http.path.segments.0 == \"foo\" && http.path.segments.3 ~ r#\"\\d+\"#", true)]
    [InlineData("/123/hello-world/bar", "http.path.segments.0_1 ~ r#\"\\d+/\\w+\"#", true)]
    [InlineData("/foo/xxx/yyy/zzz/bar", "http.path.segments.1_3 == r#\"xxx/yyy/zzz\"#", true)]
    [InlineData("/foo/xxx/yyy/", "http.path.segments.1_2 == r#\"xxx/yyy\"# && http.path.segments.len == 3", true)]
    [InlineData("/foo/bar", "http.path.segments.1_2 == \"bar\"", false)]
    [InlineData("/foo/bar", "http.path.segments.10_11 == r#\"foo/bar\"#", false)]
    [InlineData("/a//b", "http.path.segments.1 == \"\" && http.path.segments.len == 3", true)]
    public void Path_segments_as_Kong_splits_them(string path, string expression, bool expected) =>
        Assert.Equal(expected, Matches(expression, Request(path: path)));

    [Fact]
    public void Stream_routes_are_read_against_the_stream_fields_and_not_routed_as_HTTP()
    {
        Assert.Equal("Unknown LHS field 'http.path' (at line 1, column 1)", ExpressionParser.ErrorOf("http.path == \"/a\"", ["tcp"]));
        Assert.Equal("Unknown LHS field 'http.headers.x' (at line 1, column 29)",
            ExpressionParser.ErrorOf("net.dst.port == 5432 && any(http.headers.x) == \"a\"", ["tls"]));
        Assert.Null(ExpressionParser.ErrorOf("net.src.ip in 10.0.0.0/8 && net.dst.port == 5432 && tls.sni =^ \".db\" && net.protocol == \"tls\"", ["tls"]));
        Assert.Null(ExpressionParser.ErrorOf("net.src.port > 1024", ["udp"]));
        Assert.Null(ExpressionParser.ErrorOf("http.path == \"/a\"", ["http", "https"]));

        var router = Router.Build([
            new RouteDefinition { Id = IdOf(1), Name = "stream", Protocols = ["tcp"], Expression = "net.dst.port == 80", Priority = 9 },
            new RouteDefinition { Id = IdOf(2), Name = "stream-traditional", Protocols = ["tls"], Snis = ["example.com"] },
            new RouteDefinition { Id = IdOf(4), Name = "stream-sources", Protocols = ["tcp"] },
            E(3, "http.path ^= \"/a\""),
        ]);
        Assert.Equal("e3", Routed(router, "/a"));
        // A stream route has nothing an HTTP request could fail, so in the HTTP router it would take every request.
        Assert.Null(Routed(router, "/b"));
    }

    [Theory]
    [InlineData("http.path == \"a\\\"b\\\\c\\n\\r\\t\"", "a\"b\\c\n\r\t")]
    [InlineData("http.path == r#\"^/a\\d\"b\"#", "^/a\\d\"b")]
    public void String_literals_with_escapes_and_raw_strings(string expression, string literal)
    {
        var predicate = Assert.IsType<PredicateNode>(ExpressionParser.Parse(expression));
        Assert.Equal(literal, predicate.Text);
    }

    [Fact]
    public void A_path_prefix_that_matched_is_recorded_only_from_the_branch_that_matched()
    {
        var path = new ExpressionEvaluator.PathMatch();
        var node = ExpressionParser.Parse("(http.path ^= \"/api\" && http.method == \"POST\") || http.path ~ r#\"^/(?<first>[a-z]+)/\"#");
        Assert.True(ExpressionEvaluator.Evaluate(node, Request(), ref path));
        Assert.Equal("/api/", path.Matched);
        Assert.Equal("api", path.Regex!.Groups["first"].Value);
    }

    public static TheoryData<string, string, int> Invalid => new()
    {
        // Parse errors: what was expected, at the offset of the fault.
        { "", "expected a predicate or '(', found the end of the expression", 0 },
        { "http.path", "expected an operator (==, !=, ~, ^=, =^, >, >=, <, <=, in, not in, contains), found the end of the expression", 9 },
        { "http.path = \"/a\"", "expected an operator (==, !=, ~, ^=, =^, >, >=, <, <=, in, not in, contains), found '='", 10 },
        { "http.path == ", "expected a string (\"…\" or r#\"…\"#), an IP address, a CIDR block or an integer, found the end of the expression", 13 },
        { "http.path == /a", "expected a string (\"…\" or r#\"…\"#), an IP address, a CIDR block or an integer, found '/a'", 13 },
        { "http.path == abc", "expected a string (\"…\" or r#\"…\"#), an IP address, a CIDR block or an integer, found 'abc'", 13 },
        { "http.path == \"/a", "unterminated string; expected '\"'", 13 },
        { "http.path == \"\\q\"", "invalid escape sequence; expected one of \\\" \\\\ \\n \\r \\t (or a raw string r#\"…\"#)", 14 },
        { "http.path == r#\"/a\"", "unterminated raw string; expected '\"#'", 13 },
        { "http.path == \"/a\" &&", "expected a field name (such as http.path) or '(', found the end of the expression", 20 },
        { "http.path == \"/a\" http.host == \"x\"", "expected '&&', '||' or the end of the expression, found 'http.host'", 18 },
        { "(http.path == \"/a\"", "expected '&&', '||' or ')', found the end of the expression", 18 },
        { "!http.path == \"/a\"", "expected '(' after '!' (negation applies to a parenthesised expression), found 'http.path'", 1 },
        { "net.src.ip not 10.0.0.0/8", "expected 'in' after 'not', found '10.0.0.0/8'", 15 },
        { "net.src.ip in 10.0.0.0/33", "invalid CIDR block '10.0.0.0/33'", 14 },
        { "net.dst.port == 99999999999999999999", "invalid integer '99999999999999999999' (decimal, 0x hexadecimal or 0-prefixed octal)", 16 },
        { "upper(http.host) == \"a\"", "unknown transformation 'upper'; expected lower or any", 0 },
        { "any(lower(http.host) == \"a\"", "expected ')', found '=='", 21 },
        { "any(foo(http.host)) == \"a\"", "unknown transformation 'foo'; expected lower or any", 4 },
        { "http.path.segments.01 == \"a\"", "illformed http.path.segments.* field", 0 },
        { "http.path.segments.2_1 == \"a\"", "illformed http.path.segments.* field", 0 },
        { "http.path.segments.1_1 == \"a\"", "illformed http.path.segments.* field", 0 },
        { "http.path.segments.0_0 == \"a\"", "illformed http.path.segments.* field", 0 },
        { "lower(http.path.segments.x) == \"a\"", "illformed http.path.segments.* field", 6 },
        { "http.path.segments.len == \"3\"", "Type mismatch between the LHS and RHS values of predicate ('http.path.segments.len' is an integer, the value is a string)", 26 },
        { "http.path.segments.0 == 3", "Type mismatch between the LHS and RHS values of predicate ('http.path.segments.0' is a string, the value is an integer)", 24 },
        { "lower(http.path.segments.len) == 3", "lower-case transformation function only supported with String type fields", 0 },
        { "http.path ~ \"(\"", "invalid regex '(': ", 12 },
        // Type errors: Kong's words, pointing at the predicate or its value.
        { "http.paths == \"/a\"", "Unknown LHS field 'http.paths'", 0 },
        { "lower(http.nope) == \"a\"", "Unknown LHS field 'http.nope'", 6 },
        { "http.path == 1", "Type mismatch between the LHS and RHS values of predicate ('http.path' is a string, the value is an integer)", 13 },
        { "net.dst.port == \"80\"", "Type mismatch between the LHS and RHS values of predicate ('net.dst.port' is an integer, the value is a string)", 16 },
        { "net.src.ip == 10.0.0.0/8", "Type mismatch between the LHS and RHS values of predicate ('net.src.ip' is an IP address, the value is a CIDR block)", 14 },
        { "http.host == 10.0.0.1", "Type mismatch between the LHS and RHS values of predicate ('http.host' is a string, the value is an IP address)", 13 },
        { "lower(net.dst.port) == 80", "lower-case transformation function only supported with String type fields", 0 },
        { "net.dst.port ~ \"8\"", "Regex operators only supports string operands", 0 },
        { "net.dst.port ^= 8", "Regex/Prefix/Postfix operators only supports string operands", 0 },
        { "http.path > \"a\"", "Greater/GreaterOrEqual/Lesser/LesserOrEqual operators only supports integer operands", 0 },
        { "http.path in \"/a\"", "In/NotIn operators only supports IP in CIDR", 0 },
        { "net.src.ip in 10.0.0.1", "In/NotIn operators only supports IP in CIDR", 0 },
        { "net.dst.port contains 8", "Contains operator only supports string operands", 0 },
        // A position on a later line is given as line and column.
        { "http.path == \"/a\" &&\n  http.port == 80", "Unknown LHS field 'http.port'", 23 },
    };

    [Theory]
    [MemberData(nameof(Invalid))]
    public void Invalid_expressions_name_the_fault_and_its_position(string expression, string reason, int position)
    {
        var error = Assert.Throws<ExpressionException>(() => ExpressionParser.Parse(expression));
        Assert.StartsWith(reason, error.Reason);
        Assert.Equal(position, error.Position);
        Assert.Contains("(at line ", error.Message);
    }

    [Fact]
    public void The_message_gives_line_and_column()
    {
        Assert.Equal("Unknown LHS field 'http.port' (at line 2, column 3)",
            ExpressionParser.ErrorOf("http.path == \"/a\" &&\n  http.port == 80"));
        Assert.Null(ExpressionParser.ErrorOf("http.path == \"/a\""));
    }

    private static Guid IdOf(int n) => new($"00000000-0000-0000-0000-{n:D12}");

    private static RouteDefinition E(int n, string expression, long priority = 0) =>
        new() { Id = IdOf(n), Name = "e" + n, Expression = expression, Priority = priority };

    private static string? Routed(Router router, string path, string method = "GET") =>
        router.Match(method, "example.com", 80, path, new Headers([]), null, false,
            new RequestConnection(IPAddress.Loopback, 40000, IPAddress.Loopback, 80, null))?.Route.Name;

    [Fact]
    public void Higher_priority_first_and_ties_go_to_the_larger_id_as_in_the_ATC_router()
    {
        var router = Router.Build([
            E(1, "http.path ^= \"/a\"", priority: 1),
            E(3, "http.path ^= \"/a\""),
            E(2, "http.path ^= \"/a/b\""),
            E(4, "http.path ^= \"/a/b/c\"", priority: 2),
        ]);
        Assert.Equal("e4", Routed(router, "/a/b/c"));
        Assert.Equal("e1", Routed(router, "/a/b"));
        var tied = Router.Build([E(2, "http.path ^= \"/a\""), E(3, "http.path ^= \"/a\""), E(1, "http.path ^= \"/a\"")]);
        Assert.Equal("e3", Routed(tied, "/a"));
        Assert.Null(Routed(tied, "/b"));
    }

    [Fact]
    public void The_path_index_keeps_priority_order_across_prefixes()
    {
        // e1 is indexed under /a/b/c, e2 under /a, e3 at the root: the best priority wins wherever it is listed.
        var router = Router.Build([
            E(1, "http.path ^= \"/a/b/c\" && http.method == \"GET\"", priority: 1),
            E(2, "http.path ^= \"/a\" && http.path ^= \"/a/b\"", priority: 5),
            E(3, "http.path ~ \"^/a\" || http.method == \"PUT\"", priority: 3),
            E(4, "!(http.path ^= \"/z\")", priority: 0),
        ]);
        Assert.Equal("e2", Routed(router, "/a/b/c/d"));
        Assert.Equal("e3", Routed(router, "/a/x"));
        Assert.Equal("e3", Routed(router, "/q", "PUT"));
        Assert.Equal("e4", Routed(router, "/q"));
        Assert.Null(Routed(router, "/z"));
        Assert.Equal("/a/b", ExpressionPrefix.Of(ExpressionParser.Parse("http.path ^= \"/a\" && http.path ^= \"/a/b\"")));
        Assert.Equal("", ExpressionPrefix.Of(ExpressionParser.Parse("lower(http.path) ^= \"/a\"")));
        Assert.Equal("/re", ExpressionPrefix.Of(ExpressionParser.Parse("http.path ~ \"^/re\\\\d\"")));
        Assert.Equal("", ExpressionPrefix.Of(ExpressionParser.Parse("http.path ~ \"/re\"")));
        Assert.Equal("", ExpressionPrefix.Of(ExpressionParser.Parse("http.path ^= \"/a\" || http.path ^= \"/b\"")));
    }

    [Fact]
    public void Expression_routes_are_tried_before_traditional_ones_and_a_bad_expression_is_left_out()
    {
        var problems = new List<string>();
        var router = Router.Build([
            new RouteDefinition { Id = IdOf(9), Name = "traditional", Paths = ["/a"] },
            E(1, "http.path == \"/a\" && http.method == \"POST\""),
            E(2, "http.path == 5"),
        ], (route, error) => problems.Add(error.Message));
        Assert.Equal("e1", Routed(router, "/a", "POST"));
        Assert.Equal("traditional", Routed(router, "/a", "GET"));
        var problem = Assert.Single(problems);
        Assert.StartsWith($"route 'e2' ({IdOf(2)}): expression: Type mismatch between the LHS and RHS values of predicate", problem);
    }

    [Fact]
    public void Traditional_routes_keep_their_own_order_below_every_expression_route_as_Kong_keys_them()
    {
        // The strongest key an HTTP route's fields can earn, against the weakest expression route's.
        Assert.True(RoutePriority.Compute(5, true, 255, true, int.MaxValue, (1 << 19) - 1) < Router.ExpressionRouteKey);

        var router = Router.Build([
            new RouteDefinition
            {
                Id = IdOf(9), Name = "five-fields", Methods = ["GET", "POST"], Hosts = ["example.com"], Paths = ["/a"], Snis = ["example.com"],
                Headers = new Dictionary<string, IReadOnlyList<string>> { ["x-tier"] = ["gold"] },
            },
            new RouteDefinition { Id = IdOf(8), Name = "short", Paths = ["/a"] },
            new RouteDefinition { Id = IdOf(7), Name = "long", Paths = ["/a/b"] },
            new RouteDefinition { Id = IdOf(6), Name = "regex", Paths = ["~/a/b/c$"], RegexPriority = 1 },
            E(1, "http.path ^= \"/a\" && http.method == \"POST\""),
        ]);
        string? Route(string method, string path, bool gold) => router.Match(method, "example.com", 80, path,
            new Headers(gold ? new() { ["x-tier"] = "gold" } : []), null, false,
            new RequestConnection(IPAddress.Loopback, 40000, IPAddress.Loopback, 80, null))?.Route.Name;

        Assert.Equal("e1", Route("POST", "/a", gold: true));
        Assert.Equal("five-fields", Route("GET", "/a", gold: true));
        Assert.Equal("short", Route("GET", "/a", gold: false));
        Assert.Equal("long", Route("GET", "/a/b", gold: false));
        Assert.Equal("regex", Route("GET", "/a/b/c", gold: false));
        Assert.Equal("e1", Route("POST", "/a/b/c", gold: false));
    }

    [Fact]
    public void Strip_path_removes_the_matched_prefix_and_a_path_regex_gives_its_captures()
    {
        var router = Router.Build([
            new RouteDefinition { Id = IdOf(1), Name = "p", Expression = "http.path ^= \"/api\"", ServicePath = "/v1" },
            new RouteDefinition { Id = IdOf(2), Name = "r", Expression = "http.path ~ r#\"^/users/(?<id>\\d+)\"#", StripPath = false },
        ]);
        var prefixed = router.Match("GET", "h", 80, "/api/x", new Headers([]), null, false)!.Value;
        Assert.Equal("/v1/x", prefixed.UpstreamPath);
        Assert.Equal("/api", prefixed.StrippedPrefix);
        var captured = router.Match("GET", "h", 80, "/users/42/x", new Headers([]), null, false)!.Value;
        Assert.Equal("/users/42/x", captured.UpstreamPath);
        Assert.Equal("42", captured.Captures!.Named["id"]);
    }

    private static EntityException? Refusal(EntitySchema schema, string json) =>
        Record.Exception(() => EntityWriter.Validate(schema, JsonNode.Parse(json)!.AsObject(), WriteMode.Insert, null, lenient: false)) as EntityException;

    [Fact]
    public void The_fields_exist_only_under_the_expressions_flavor()
    {
        Assert.Same(Routes.Schema, Routes.SchemaFor(Gantry.Configuration.RouterFlavor.TraditionalCompatible));
        var traditional = Refusal(Routes.Schema, "{\"expression\": \"http.path == \\\"/a\\\"\", \"priority\": 1, \"paths\": [\"/a\"]}");
        Assert.Equal("unknown field", traditional!.Fields!["expression"]!.GetValue<string>());
        Assert.Equal("unknown field", traditional.Fields!["priority"]!.GetValue<string>());

        var expressions = Routes.ExpressionsSchema;
        Assert.Null(Refusal(expressions, "{\"expression\": \"http.path == \\\"/a\\\"\", \"priority\": 70368744177663}"));
        Assert.Null(Refusal(expressions, "{\"paths\": [\"/a\"]}"));
        Assert.NotNull(Refusal(expressions, "{\"expression\": \"http.path == \\\"/a\\\"\", \"priority\": 70368744177664}")!.Fields!["priority"]);
        Assert.Equal("Router Expression failed validation: cannot set 'regex_priority' with 'expression' simultaneously",
            Refusal(expressions, "{\"expression\": \"http.path == \\\"/a\\\"\", \"regex_priority\": 3}")!.Fields!["@entity"]![0]!.GetValue<string>());
        Assert.Equal("Router Expression failed validation: cannot set 'priority' with 'methods', 'hosts', 'paths', 'headers', 'snis', 'sources' or 'destinations' simultaneously",
            Refusal(expressions, "{\"paths\": [\"/a\"], \"priority\": 3}")!.Fields!["@entity"]![0]!.GetValue<string>());
    }

    [Fact]
    public void Writes_check_segment_names_and_read_a_stream_route_against_the_stream_fields()
    {
        var expressions = Routes.ExpressionsSchema;
        string? EntityError(string json) => Refusal(expressions, json)?.Fields?["@entity"]?[0]?.GetValue<string>();

        Assert.Equal("Router Expression failed validation: illformed http.path.segments.* field (at line 1, column 1)",
            EntityError("{\"expression\": \"http.path.segments.01 == \\\"a\\\"\"}"));
        Assert.Null(Refusal(expressions, "{\"expression\": \"http.path.segments.0_2 == \\\"a/b/c\\\" && any(http.queries.q) == \\\"1\\\"\"}"));
        Assert.Equal("Router Expression failed validation: Unknown LHS field 'http.path' (at line 1, column 1)",
            EntityError("{\"protocols\": [\"tcp\"], \"expression\": \"http.path == \\\"/a\\\"\"}"));
        Assert.Null(Refusal(expressions, "{\"protocols\": [\"tls\"], \"expression\": \"tls.sni == \\\"db\\\" && net.dst.port == 5432\"}"));
    }
}
