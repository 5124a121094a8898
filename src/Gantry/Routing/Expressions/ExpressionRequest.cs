using System.Net;
using Microsoft.Extensions.Primitives;

namespace Gantry.Routing.Expressions;

/// <summary>
/// The request as the expressions router sees it. Headers are read through the same struct adapter
/// as the traditional router; query arguments are parsed from the raw query only when a route asks for one.
/// </summary>
public sealed class ExpressionRequest<THeaders>(string method, string host, string path, string protocol, THeaders headers)
    where THeaders : IRequestHeaders
{
    public string Method { get; } = method;
    /// <summary>Without its port, as Kong's http.host.</summary>
    public string Host { get; } = host;
    /// <summary>Normalised, without the query.</summary>
    public string Path { get; } = path;
    public string Protocol { get; } = protocol;
    public THeaders Headers = headers;
    public string? Query { get; init; }
    public string? Sni { get; init; }
    public IPAddress? SourceIp { get; init; }
    public int SourcePort { get; init; }
    public IPAddress? DestinationIp { get; init; }
    public int DestinationPort { get; init; }

    private Dictionary<string, StringValues>? _queries;
    private string[]? _segments;

    /// <summary>
    /// The path split at '/' after its leading one, trailing empty segments dropped as Kong's split does:
    /// "/foo/" has one segment, "/" none.
    /// </summary>
    public string[] Segments
    {
        get
        {
            if (_segments is not null)
                return _segments;
            var parts = Path.Length <= 1 ? [] : Path[1..].Split('/');
            var count = parts.Length;
            while (count > 0 && parts[count - 1].Length == 0)
                count--;
            return _segments = count == parts.Length ? parts : parts[..count];
        }
    }

    /// <summary>Segments <paramref name="first"/> to <paramref name="last"/> joined by '/', or null when the path has not that many.</summary>
    public string? SegmentRange(int first, int last)
    {
        var segments = Segments;
        if (last >= segments.Length)
            return null;
        return first == last ? segments[first] : string.Join('/', segments, first, last - first + 1);
    }

    public StringValues QueryValues(string name)
    {
        _queries ??= string.IsNullOrEmpty(Query)
            ? new Dictionary<string, StringValues>()
            : Microsoft.AspNetCore.WebUtilities.QueryHelpers.ParseQuery(Query);
        return _queries.TryGetValue(name, out var values) ? values : StringValues.Empty;
    }
}
