using Microsoft.Net.Http.Headers;

namespace Gantry.Plugins.ProxyCache;

/// <summary>
/// The content types a response may have to be cached, matched as Kong matches them: the media type
/// (case aside), and its parameters exactly; an entry may be <c>type/*</c> or <c>*/*</c>. So
/// <c>application/json</c> does not take <c>application/json; charset=utf-8</c>: list that as well.
/// </summary>
public sealed class CacheableTypes
{
    private readonly HashSet<string> _exact = new(StringComparer.Ordinal);
    private readonly HashSet<string> _typeWildcard = new(StringComparer.Ordinal);
    private readonly HashSet<string> _any = new(StringComparer.Ordinal);

    public CacheableTypes(IEnumerable<string> configured)
    {
        foreach (var entry in configured)
        {
            if (Parse(entry) is not var (type, subtype, parameters))
                continue;
            if (type == "*")
                _any.Add(parameters);
            else if (subtype == "*")
                _typeWildcard.Add(type + ";" + parameters);
            else
                _exact.Add(type + "/" + subtype + ";" + parameters);
        }
    }

    public bool Allows(string contentType) =>
        Parse(contentType) is var (type, subtype, parameters)
        && (_exact.Contains(type + "/" + subtype + ";" + parameters) || _typeWildcard.Contains(type + ";" + parameters) || _any.Contains(parameters));

    private static (string Type, string Subtype, string Parameters)? Parse(string text)
    {
        if (!MediaTypeHeaderValue.TryParse(text, out var parsed) || parsed.MediaType.Value is not { } media)
            return null;
        var slash = media.IndexOf('/', StringComparison.Ordinal);
        if (slash <= 0)
            return null;
        var parameters = parsed.Parameters
            .Select(p => p.Name.Value!.ToLowerInvariant() + "=" + (HeaderUtilities.RemoveQuotes(p.Value).Value ?? ""))
            .Order(StringComparer.Ordinal);
        return (media[..slash].ToLowerInvariant(), media[(slash + 1)..].ToLowerInvariant(), string.Join(';', parameters));
    }
}
