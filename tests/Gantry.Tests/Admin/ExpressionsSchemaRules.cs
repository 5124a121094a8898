using Gantry.Tests.Routing;
using Gantry.Tests.Support;

namespace Gantry.Tests.Admin;

/// <summary>
/// Routes' rules as Kong 3.9 answers them under <c>router_flavor = expressions</c>, where the route schema differs
/// from the other flavors': an expression is one more way to match, and HTTP and gRPC routes may match on sources
/// and destinations. Run by a node of that flavor on each store, with the runner of <see cref="SchemaFidelityTests"/>.
/// </summary>
public abstract class ExpressionsSchemaRules(ExpressionsNode node)
{
    private const string Failed = "Router Expression failed validation: ";

    private static readonly Dictionary<string, SchemaRule> Rules = new()
    {
        ["route (expressions): an http route may match on sources"] = new SchemaRule("/routes",
            """{"protocols": ["http"], "paths": ["/{name}"], "sources": [{"ip": "10.0.0.0/8"}]}""", 201),
        ["route (expressions): a grpc route may match on destinations"] = new SchemaRule("/routes",
            """{"protocols": ["grpc"], "paths": ["/{name}"], "destinations": [{"port": 50051}]}""", 201),
        ["route (expressions): an http route's sources alone are not enough"] = new SchemaRule("/routes",
            """{"protocols": ["http"], "sources": [{"ip": "10.0.0.1"}]}""", 400,
            """{"@entity": ["must set one of 'methods', 'hosts', 'headers', 'paths', 'expression' when 'protocols' is 'http'"]}"""),
        ["route (expressions): the default protocols name snis and expression"] = new SchemaRule("/routes",
            """{"name": "{name}"}""", 400,
            """{"@entity": ["must set one of 'methods', 'hosts', 'headers', 'paths', 'snis', 'expression' when 'protocols' is 'https'"]}"""),
        ["route (expressions): a grpcs route with nothing to match on"] = new SchemaRule("/routes",
            """{"protocols": ["grpcs"]}""", 400,
            """{"@entity": ["must set one of 'hosts', 'headers', 'paths', 'snis', 'expression' when 'protocols' is 'grpcs'"]}"""),
        ["route (expressions): a stream route with nothing to match on"] = new SchemaRule("/routes",
            """{"protocols": ["tcp"]}""", 400,
            """{"@entity": ["must set one of 'sources', 'destinations', 'snis', 'expression' when 'protocols' is 'tcp', 'tls' or 'udp'"]}"""),
        ["route (expressions): a tls_passthrough route may match by expression alone"] = new SchemaRule("/routes",
            """{"protocols": ["tls_passthrough"], "expression": "tls.sni == \"a.test\""}""", 201),
        ["route (expressions): a tls_passthrough route without snis or expression"] = new SchemaRule("/routes",
            """{"protocols": ["tls_passthrough"], "destinations": [{"port": 443}]}""", 400,
            """{"@entity": ["must set snis when 'protocols' is 'tls_passthrough'"]}"""),
        ["route (expressions): a grpc route still takes no methods"] = new SchemaRule("/routes",
            """{"protocols": ["grpc"], "paths": ["/g"], "methods": ["GET"]}""", 400,
            """{"methods": "cannot set 'methods' when 'protocols' is 'grpc' or 'grpcs'"}"""),
        ["route (expressions): a grpc expression route keeps the path"] = new SchemaRule("/routes",
            """{"protocols": ["grpc"], "expression": "http.path ^= \"/g\"", "strip_path": true}""", 400,
            """{"strip_path": "cannot set 'strip_path' when 'protocols' is 'grpc' or 'grpcs'"}"""),
        ["route (expressions): an expression rule runs beside a field error it does not read"] = new SchemaRule("/routes",
            """{"expression": "http.path == \"/a\"", "paths": ["/a"], "tags": [1]}""", 400,
            $$"""{"tags": ["expected a string"], "@entity": ["{{Failed}}cannot set 'expression' with 'methods', 'hosts', 'paths', 'headers', 'snis', 'sources' or 'destinations' simultaneously"]}"""),
        ["route (expressions): an expression rule waits for the fields it reads"] = new SchemaRule("/routes",
            """{"expression": "http.path == \"/a\"", "paths": ["/a"], "priority": -1}""", 400,
            """{"priority": "value should be between 0 and 70368744177663"}"""),
    };

    public static TheoryData<string> RuleNames => [.. Rules.Keys];

    [Theory]
    [MemberData(nameof(RuleNames))]
    public Task Rule_answers_as_Kong(string rule) => SchemaFidelityTests.AnswersAsKongAsync(node, rule, Rules[rule]);
}

[Collection(AdminApiCollection.Name)]
public sealed class SqliteExpressionsSchemaRules(SqliteExpressionsNode node) : ExpressionsSchemaRules(node), IClassFixture<SqliteExpressionsNode>;

[Collection(AdminApiCollection.Name)]
public sealed class PostgresExpressionsSchemaRules(PostgresExpressionsNode node) : ExpressionsSchemaRules(node), IClassFixture<PostgresExpressionsNode>;
