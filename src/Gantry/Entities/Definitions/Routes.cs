using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Gantry.Entities.Schema;
using static Gantry.Entities.Definitions.CommonFields;

namespace Gantry.Entities.Definitions;

/// <summary>
/// Routes: which requests reach which service. The rules across fields follow the protocol family:
/// HTTP routes match on methods, hosts, headers and paths; stream routes on sources, destinations and SNIs.
/// </summary>
public static class Routes
{
    public static readonly string[] Protocols = ["grpc", "grpcs", "http", "https", "tcp", "tls", "tls_passthrough", "udp"];

    private static readonly string[][] Families = [["http", "https"], ["tcp", "tls", "udp"], ["tls_passthrough"], ["grpc", "grpcs"]];

    private static readonly long[] RedirectCodes = [426, 301, 302, 307, 308];

    public static EntitySchema Schema { get; } = Build(expressions: false);

    /// <summary>
    /// Under <c>router_flavor = expressions</c> routes gain <c>expression</c> and <c>priority</c>, as in Kong;
    /// a route has either an expression or the traditional fields, never both.
    /// </summary>
    public static EntitySchema ExpressionsSchema { get; } = Build(expressions: true);

    public static EntitySchema SchemaFor(Configuration.RouterFlavor flavor) =>
        flavor == Configuration.RouterFlavor.Expressions ? ExpressionsSchema : Schema;

    /// <summary>Kong's bound: priorities stay exact in a Lua number once it packs them with its own bits.</summary>
    public const long MaxPriority = (1L << 46) - 1;

    private static EntitySchema Build(bool expressions)
    {
        // Kong's order, which Kong Manager lays its form out by.
        Field[] fields = [
            Id(),
            CreatedAt(),
            UpdatedAt(),
            Name(),
            new Field("protocols", FieldKind.Set)
            {
                Default = Array("http", "https"),
                DescribedRequired = true,
                Elements = new Field("protocol", FieldKind.String) { OneOf = Protocols },
                MinItems = 1,
            },
            new Field("https_redirect_status_code", FieldKind.Integer)
            {
                Default = 426,
                DescribedRequired = true,
                OneOfIntegers = RedirectCodes,
            },
            Boolean("strip_path", true, describedRequired: true),
            Boolean("preserve_host", false, describedRequired: true),
            Boolean("request_buffering", true, describedRequired: true),
            Boolean("response_buffering", true, describedRequired: true),
            Tags(),
            Foreign("service", "services"),
            new Field("snis", FieldKind.Set) { Elements = SniName("sni") },
            new Field("sources", FieldKind.Set) { Elements = Endpoint("source") },
            new Field("destinations", FieldKind.Set) { Elements = Endpoint("destination") },
            new Field("methods", FieldKind.Set)
            {
                Elements = new Field("method", FieldKind.String) { Pattern = new Regex("^[A-Z]+$", RegexOptions.CultureInvariant) },
            },
            new Field("hosts", FieldKind.Array)
            {
                Elements = new Field("host", FieldKind.String) { MinLength = 1, Check = v => WildcardHostError(v.GetValue<string>(), allowPort: true) },
            },
            new Field("paths", FieldKind.Array) { Elements = new Field("path", FieldKind.String) { Check = RoutePathError } },
            new Field("headers", FieldKind.Map)
            {
                Keys = HeaderName("header"),
                Elements = new Field("values", FieldKind.Array)
                {
                    Elements = new Field("value", FieldKind.String) { Check = v => Routing.RouteCompiler.HeaderRegexError(v.GetValue<string>()) },
                },
                Check = HostHeaderError,
            },
            Integer("regex_priority", 0),
            String("path_handling", "v0", oneOf: ["v0", "v1"]),
            .. (expressions ? ExpressionFields : []),
        ];
        // Kong picks a route's subschema by its first protocol; gRPC's keeps the path, so strip_path defaults to false there.
        Field[] grpcFields = [.. fields.Select(f => f.Name == "strip_path" ? Boolean("strip_path", false, describedRequired: true) : f)];
        return new EntitySchema("routes", fields)
        {
            Table = "routes",
            EndpointKey = "name",
            OnParentDelete = new Dictionary<string, ParentDelete> { ["service"] = ParentDelete.Restrict },
            ReadingChecks = expressions
                ? [new(ExpressionCheckReads, ExpressionsCheck), new([.. CheckReads, "expression"], route => Check(route, expressions: true))]
                : [new(CheckReads, route => Check(route, expressions: false))],
            CompiledChecks = [Compiles],
            SubschemaKey = "protocols",
            Subschemas = protocol => protocol is "grpc" or "grpcs" ? grpcFields : null,
        };
    }

    private static Field[] ExpressionFields =>
    [
        new Field("expression", FieldKind.String),
        Integer("priority", 0, 0, MaxPriority, required: true),
    ];

    private static readonly string[] TraditionalMatchFields = ["snis", "sources", "destinations", "methods", "hosts", "paths", "headers"];

    private const string TraditionalMatchList = "'methods', 'hosts', 'paths', 'headers', 'snis', 'sources' or 'destinations'";

    /// <summary>
    /// Kong's rules under the expressions flavor: an expression excludes the traditional matching fields and
    /// regex_priority, priority applies only to expressions, and the expression must parse and type-check.
    /// The protocol family's rules (<see cref="Check"/>) run beside these, as Kong's subschema checks do.
    /// </summary>
    private static IEnumerable<(string?, string)> ExpressionsCheck(JsonObject route)
    {
        const string failed = "Router Expression failed validation: ";
        // Protocols of two families are the protocols field's error in Kong, which stops this check.
        if (FamiliesOf(route).Count > 1)
            yield break;
        var expression = route["expression"] is JsonValue value && value.TryGetValue(out string? text) ? text : null;
        var othersSet = TraditionalMatchFields.Any(f => IsSet(route[f]));
        if (expression is null)
        {
            if (othersSet && route["priority"] is JsonValue p && SchemaValidator.ToDouble(p) != 0)
                yield return (null, failed + "cannot set 'priority' with " + TraditionalMatchList + " simultaneously");
            yield break;
        }
        if (othersSet)
        {
            yield return (null, failed + "cannot set 'expression' with " + TraditionalMatchList + " simultaneously");
            yield break;
        }
        if (route["regex_priority"] is JsonValue r && SchemaValidator.ToDouble(r) != 0)
        {
            yield return (null, failed + "cannot set 'regex_priority' with 'expression' simultaneously");
            yield break;
        }
        if (Routing.Expressions.ExpressionParser.ErrorOf(expression, (route["protocols"] as JsonArray)?.Select(p => p?.ToString())) is { } parseError)
            yield return (null, failed + parseError);
    }

    // A property: the schemas above are built before static fields below them are initialized.
    private static string[] ExpressionCheckReads =>
        ["protocols", "snis", "sources", "destinations", "methods", "hosts", "paths", "headers", "expression", "regex_priority", "priority"];

    /// <summary>A stream route's source or destination: an IP or CIDR block, a port, or both.</summary>
    private static Field Endpoint(string name) => new(name, FieldKind.Record)
    {
        Fields =
        [
            new Field("ip", FieldKind.String) { Check = v => IsIpOrCidr(v.GetValue<string>()) ? null : "invalid ip or cidr range: '" + v.GetValue<string>() + "'" },
            Integer("port", null, 0, 65535),
        ],
        RecordCheck = v => AtLeastOneOf(v, "ip", "port")?.Item2,
    };

    private static bool IsIpOrCidr(string value)
    {
        var slash = value.IndexOf('/');
        if (slash < 0)
            return System.Net.IPAddress.TryParse(value, out _);
        return System.Net.IPNetwork.TryParse(value, out _);
    }

    private static string? HostHeaderError(JsonNode headers)
    {
        foreach (var (name, _) in headers.AsObject())
        {
            if (name.Equals("host", StringComparison.OrdinalIgnoreCase))
                return "cannot contain 'host' header, which must be specified in the 'hosts' attribute";
        }
        return null;
    }

    /// <summary>
    /// A regex path starts with '~/' and the router must be able to run it. A prefix path starts with '/' and
    /// may hold any character (Kong 3.x matches it as written, so "/kong(-ee){0,1}.com" is a plain prefix),
    /// but its escapes must be valid and it must already be in the form request paths are normalized to,
    /// or it could never match.
    /// </summary>
    private static string? RoutePathError(JsonNode value)
    {
        var path = value.GetValue<string>();
        if (path.StartsWith("~/", StringComparison.Ordinal))
            return Routing.PathRegex.Error(path[1..]);
        if (!path.StartsWith('/'))
            return "should start with: / (fixed path) or ~/ (regex path)";
        if (path.Contains("//", StringComparison.Ordinal))
            return "must not have empty segments";
        if (PercentEncodingError(path) is { } escape)
            return escape;
        // The normalizer cuts a query off request paths; a '?' in a route path is matched as written.
        if (!path.Contains('?') && Routing.PathNormalizer.Normalize(path) is var normalized && normalized != path)
            return $"non-normalized path, consider use '{normalized}' instead";
        return null;
    }

    // A property: the schemas above are built before static fields below them are initialized.
    private static string[] CheckReads => ["protocols", "strip_path", "snis", "sources", "destinations", "methods", "hosts", "paths", "headers"];

    /// <summary>Kong names only the families the value touches, in the order the value first touches them.</summary>
    private static List<string[]> FamiliesOf(JsonObject route) =>
        route["protocols"]!.AsArray().Select(p => p!.GetValue<string>())
            .Select(p => Families.FirstOrDefault(f => f.Contains(p))).OfType<string[]>().Distinct().ToList();

    /// <summary>
    /// The protocol family's rules, as Kong's route subschemas hold them. Under the expressions flavor an
    /// expression is one more way to match (named last in each "must set one of" list), and HTTP and gRPC routes
    /// may also match on sources and destinations.
    /// </summary>
    private static IEnumerable<(string?, string)> Check(JsonObject route, bool expressions)
    {
        var protocols = route["protocols"]!.AsArray().Select(p => p!.GetValue<string>()).ToList();
        var families = FamiliesOf(route);
        if (families.Count > 1)
        {
            yield return ("protocols", "these sets are mutually exclusive: "
                + string.Join(", ", families.Select(f => "(" + List(f) + ")")));
            yield break;
        }
        var family = families[0];
        bool Set(string field) => IsSet(route[field]);
        string[] WithExpression(string[] fields) => expressions ? [.. fields, "expression"] : fields;

        if (family[0] == "http")
        {
            foreach (var field in expressions ? [] : (string[])["sources", "destinations"])
            {
                if (Set(field))
                    yield return (field, $"cannot set '{field}' when 'protocols' is 'http' or 'https'");
            }
            // The secure protocol's list wins when both are set, as it can also match on SNIs.
            var named = protocols.Contains("https") ? "https" : "http";
            string[] needed = named == "http" ? ["methods", "hosts", "headers", "paths"] : ["methods", "hosts", "headers", "paths", "snis"];
            needed = WithExpression(needed);
            if (!needed.Any(Set))
                yield return (null, $"must set one of {List(needed)} when 'protocols' is '{named}'");
        }
        else if (family[0] == "grpc")
        {
            foreach (var field in expressions ? ["methods"] : (string[])["methods", "sources", "destinations"])
            {
                if (Set(field))
                    yield return (field, $"cannot set '{field}' when 'protocols' is 'grpc' or 'grpcs'");
            }
            if (route["strip_path"]?.GetValue<bool>() == true)
                yield return ("strip_path", "cannot set 'strip_path' when 'protocols' is 'grpc' or 'grpcs'");
            var named = protocols.Contains("grpcs") ? "grpcs" : "grpc";
            string[] needed = named == "grpc" ? ["hosts", "headers", "paths"] : ["hosts", "headers", "paths", "snis"];
            needed = WithExpression(needed);
            if (!needed.Any(Set))
                yield return (null, $"must set one of {List(needed)} when 'protocols' is '{named}'");
        }
        else
        {
            // Stream routes match on connections, not requests.
            foreach (var field in (string[])["methods", "hosts", "headers", "paths"])
            {
                if (Set(field))
                    yield return (field, $"cannot set '{field}' when 'protocols' is 'tcp', 'tls', 'tls_passthrough' or 'udp'");
            }
            if (family[0] == "tls_passthrough")
            {
                if (!Set("snis") && !(expressions && Set("expression")))
                    yield return (null, "must set snis when 'protocols' is 'tls_passthrough'");
            }
            else if (WithExpression(["sources", "destinations", "snis"]) is var needed && !needed.Any(Set))
            {
                yield return (null, $"must set one of {List(needed)} when 'protocols' is 'tcp', 'tls' or 'udp'");
            }
        }
        if (Set("snis") && !protocols.Any(p => p is "https" or "grpcs" or "tls" or "tls_passthrough"))
        {
            yield return ("snis", "length must be 0");
            yield return (null, "'snis' can only be set when 'protocols' is 'grpcs', 'https', 'tls' or 'tls_passthrough'");
        }
    }

    /// <summary>Last, the route as the router will compile it: what passes here is what every node can serve.</summary>
    private static IEnumerable<(string?, string)> Compiles(JsonObject route)
    {
        if (RouterError(route) is { } error)
            yield return (null, error);
    }

    private static string? RouterError(JsonObject route)
    {
        try
        {
            var record = Records.EntityRecords.Read<Records.RouteRecord>(Schema, (JsonObject)route.DeepClone());
            Routing.Router.Build([Routing.RouteDefinition.From(record, null)]);
            return null;
        }
        catch (Exception e) when (e is Routing.RouterConfigurationException or Records.InvalidEntityException)
        {
            return e.Message;
        }
    }

    private static string List(IEnumerable<string> values) => string.Join(", ", values.Select(v => $"'{v}'"));
}
