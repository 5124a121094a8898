using System.Net;
using Gantry.Routing;
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
        { "upper(http.host) == \"a\"", "unknown transformation 'upper'; expected lower", 0 },
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
}
