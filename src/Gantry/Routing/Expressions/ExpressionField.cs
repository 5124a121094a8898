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
    /// <summary><c>http.path.segments.&lt;n&gt;</c> or <c>.&lt;n&gt;_&lt;m&gt;</c>: one segment, or segments n to m joined by '/'.</summary>
    PathSegments,
    /// <summary><c>http.path.segments.len</c>.</summary>
    PathSegmentCount,
}

/// <summary>A field of Kong's HTTP router schema, resolved once at compile time so that matching never looks names up.</summary>
public sealed class ExpressionField(string name, FieldSource source, ExpressionType type, string? key = null, int first = 0, int last = 0)
{
    public string Name { get; } = name;
    public FieldSource Source { get; } = source;
    public ExpressionType Type { get; } = type;

    /// <summary>The header name (dashes for the underscores the language allows) or the query argument name.</summary>
    public string? Key { get; } = key;

    /// <summary>For <see cref="FieldSource.PathSegments"/>: the first and last segment, counted from 0.</summary>
    public int First { get; } = first;
    public int Last { get; } = last;

    private const string HeaderPrefix = "http.headers.";
    private const string SegmentsPrefix = "http.path.segments.";
    private const string QueryPrefix = "http.queries.";

    /// <summary>The field a name denotes, or null when the schema has none.</summary>
    public static ExpressionField? Resolve(string name) => Resolve(name, out _);

    /// <summary>
    /// The field a name denotes, or null when the schema has none; <paramref name="illFormed"/> when it is an
    /// <c>http.path.segments.*</c> name whose suffix is not <c>len</c>, <c>n</c> or <c>n_m</c> with n &lt; m
    /// (decimal, no leading zero), which Kong's route schema refuses.
    /// </summary>
    public static ExpressionField? Resolve(string name, out bool illFormed)
    {
        illFormed = false;
        if (name.StartsWith(SegmentsPrefix, StringComparison.Ordinal))
        {
            var suffix = name.AsSpan(SegmentsPrefix.Length);
            if (suffix.SequenceEqual("len"))
                return new(name, FieldSource.PathSegmentCount, ExpressionType.Int);
            var underscore = suffix.IndexOf('_');
            var firstText = underscore < 0 ? suffix : suffix[..underscore];
            if (SegmentIndex(firstText, allowZero: true) is not { } first)
            {
                illFormed = true;
                return null;
            }
            if (underscore < 0)
                return new(name, FieldSource.PathSegments, ExpressionType.String, first: first, last: first);
            if (SegmentIndex(suffix[(underscore + 1)..], allowZero: false) is not { } last || last <= first)
            {
                illFormed = true;
                return null;
            }
            return new(name, FieldSource.PathSegments, ExpressionType.String, first: first, last: last);
        }
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

    private static int? SegmentIndex(ReadOnlySpan<char> digits, bool allowZero)
    {
        if (digits.Length == 0 || digits.ContainsAnyExceptInRange('0', '9') || (digits[0] == '0' && (digits.Length > 1 || !allowZero)))
            return null;
        // Kong accepts any size; an index past int's range can only name a segment no path has.
        return digits.Length > 9 ? int.MaxValue : int.Parse(digits, System.Globalization.CultureInfo.InvariantCulture);
    }

    private static bool IsKey(string name, int start) => start < name.Length && name.IndexOf('.', start) < 0;
}
