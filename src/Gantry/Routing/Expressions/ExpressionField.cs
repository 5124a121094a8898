namespace Gantry.Routing.Expressions;

/// <summary>What an expression's left-hand side names: a request attribute and, for headers and queries, which one.</summary>
public enum FieldSource
{
    Method,
    Host,
    Path,
    Header,
    Query,
    Protocol,
    SourceIp,
    SourcePort,
    DestinationIp,
    DestinationPort,
    Sni,
}

/// <summary>A field of Kong's HTTP router schema, resolved once at compile time so that matching never looks names up.</summary>
public sealed class ExpressionField(string name, FieldSource source, ExpressionType type, string? key = null)
{
    public string Name { get; } = name;
    public FieldSource Source { get; } = source;
    public ExpressionType Type { get; } = type;

    /// <summary>The header name (dashes for the underscores the language allows) or the query argument name.</summary>
    public string? Key { get; } = key;

    private const string HeaderPrefix = "http.headers.";
    private const string QueryPrefix = "http.queries.";

    /// <summary>The field a name denotes, or null when the schema has none.</summary>
    public static ExpressionField? Resolve(string name)
    {
        switch (name)
        {
            case "http.method": return new(name, FieldSource.Method, ExpressionType.String);
            case "http.host": return new(name, FieldSource.Host, ExpressionType.String);
            case "http.path": return new(name, FieldSource.Path, ExpressionType.String);
            case "net.protocol": return new(name, FieldSource.Protocol, ExpressionType.String);
            case "net.src.ip": return new(name, FieldSource.SourceIp, ExpressionType.IpAddr);
            case "net.src.port": return new(name, FieldSource.SourcePort, ExpressionType.Int);
            case "net.dst.ip": return new(name, FieldSource.DestinationIp, ExpressionType.IpAddr);
            case "net.dst.port": return new(name, FieldSource.DestinationPort, ExpressionType.Int);
            case "tls.sni": return new(name, FieldSource.Sni, ExpressionType.String);
        }
        // Header names are written lowercased with '_' for '-', since the language's identifiers have no dash.
        if (name.StartsWith(HeaderPrefix, StringComparison.Ordinal) && IsKey(name, HeaderPrefix.Length))
            return new(name, FieldSource.Header, ExpressionType.String, name[HeaderPrefix.Length..].Replace('_', '-'));
        if (name.StartsWith(QueryPrefix, StringComparison.Ordinal) && IsKey(name, QueryPrefix.Length))
            return new(name, FieldSource.Query, ExpressionType.String, name[QueryPrefix.Length..]);
        return null;
    }

    private static bool IsKey(string name, int start) => start < name.Length && name.IndexOf('.', start) < 0;
}
