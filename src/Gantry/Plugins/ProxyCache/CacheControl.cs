using System.Globalization;
using Microsoft.Extensions.Primitives;

namespace Gantry.Plugins.ProxyCache;

/// <summary>
/// The directives of a Cache-Control header (every line joined), by lowercased name: a bare directive
/// (no-store) has a null value, others (max-age=60) their value without quotes.
/// </summary>
public sealed class CacheControl
{
    private static readonly CacheControl Empty = new([]);

    private readonly Dictionary<string, string?> _directives;

    private CacheControl(Dictionary<string, string?> directives) => _directives = directives;

    public static CacheControl Parse(StringValues header)
    {
        if (StringValues.IsNullOrEmpty(header))
            return Empty;
        var directives = new Dictionary<string, string?>(StringComparer.Ordinal);
        foreach (var line in header)
        {
            foreach (var part in (line ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                var equals = part.IndexOf('=', StringComparison.Ordinal);
                var name = (equals < 0 ? part : part[..equals]).Trim().ToLowerInvariant();
                directives[name] = equals < 0 ? null : part[(equals + 1)..].Trim().Trim('"');
            }
        }
        return new CacheControl(directives);
    }

    public bool Has(string directive) => _directives.ContainsKey(directive);

    /// <summary>A directive's value in seconds; null when absent or not a number.</summary>
    public long? Seconds(string directive) =>
        _directives.TryGetValue(directive, out var value) && long.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var seconds)
            ? seconds
            : null;
}
