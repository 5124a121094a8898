using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http.Features;

namespace Gantry.Plugins.ProxyCache;

/// <summary>
/// Kong's cache key: the SHA-256 (hex) of <c>prefix|method|path|params|headers</c>, where prefix is
/// <c>consumer:route</c> for an identified consumer, else the route's id; params are the query arguments
/// (all of them sorted by name, or only vary_query_params in their configured order) as
/// <c>name=value</c> joined by ':', a repeated argument's values sorted and joined by ',', an argument
/// without '=' written as its bare name; headers are the vary_headers present, in the same form.
/// </summary>
public static class ProxyCacheKey
{
    public static string Build(Guid? consumerId, Guid routeId, string method, string path, string rawQuery,
        IHeaderDictionary headers, string[] varyQueryParams, string[] varyHeaders)
    {
        var prefix = consumerId is { } consumer ? $"{consumer}:{routeId}" : routeId.ToString();
        var text = new StringBuilder(prefix).Append('|').Append(method).Append('|').Append(path).Append('|');
        AppendParams(text, QueryArguments(rawQuery), varyQueryParams);
        text.Append('|');
        if (varyHeaders.Length > 0)
        {
            var present = new Dictionary<string, List<string>?>(StringComparer.Ordinal);
            foreach (var name in varyHeaders)
            {
                if (headers.TryGetValue(name, out var values) && values.Count > 0)
                    present[name] = values.Select(v => v ?? "").ToList();
            }
            AppendFields(text, present, varyHeaders);
        }
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString())));
    }

    /// <summary>The path as the client sent it, without the query (Kong hashes the request's URI, not the normalised one).</summary>
    public static string RawPath(HttpContext http)
    {
        var target = http.Features.Get<IHttpRequestFeature>()?.RawTarget ?? http.Request.Path.Value ?? "/";
        var query = target.IndexOf('?', StringComparison.Ordinal);
        return query < 0 ? target : target[..query];
    }

    private static void AppendParams(StringBuilder text, Dictionary<string, List<string>?> arguments, string[] vary)
    {
        if (vary.Length > 0)
        {
            AppendFields(text, arguments, vary);
            return;
        }
        var names = arguments.Keys.ToArray();
        Array.Sort(names, StringComparer.Ordinal);
        AppendFields(text, arguments, names);
    }

    private static void AppendFields(StringBuilder text, Dictionary<string, List<string>?> fields, IEnumerable<string> names)
    {
        var first = true;
        foreach (var name in names)
        {
            if (!fields.TryGetValue(name, out var values))
                continue;
            if (!first)
                text.Append(':');
            first = false;
            text.Append(name);
            if (values is null)
                continue;
            values.Sort(StringComparer.Ordinal);
            text.Append('=').AppendJoin(',', values);
        }
    }

    /// <summary>
    /// The query's arguments decoded, a bare <c>?flag</c> (null) kept apart from <c>?flag=</c> (""), which
    /// ASP.NET's parsed query cannot tell apart.
    /// </summary>
    private static Dictionary<string, List<string>?> QueryArguments(string rawQuery)
    {
        var arguments = new Dictionary<string, List<string>?>(StringComparer.Ordinal);
        foreach (var part in rawQuery.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var equals = part.IndexOf('=', StringComparison.Ordinal);
            var name = Decode(equals < 0 ? part : part[..equals]);
            if (equals < 0)
            {
                arguments.TryAdd(name, null);
                continue;
            }
            var value = Decode(part[(equals + 1)..]);
            if (arguments.TryGetValue(name, out var values) && values is not null)
                values.Add(value);
            else
                arguments[name] = [value];
        }
        return arguments;
    }

    private static string Decode(string text) => Uri.UnescapeDataString(text.Replace('+', ' '));
}
