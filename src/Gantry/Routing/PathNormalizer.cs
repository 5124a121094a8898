namespace Gantry.Routing;

/// <summary>
/// Brings a request path to the form routes are matched against: the query is cut off,
/// percent-encoded unreserved characters are decoded and dot segments are resolved
/// (RFC 3986 sections 2.3 and 5.2.4). Other escapes stay encoded, so an encoded <c>/</c>
/// never becomes a segment separator. Configured route paths are not normalised.
/// </summary>
public static class PathNormalizer
{
    /// <summary>Returns <paramref name="path"/> itself (no allocation) when it is already normal.</summary>
    public static string Normalize(string path)
    {
        if (path.Length == 0 || path[0] != '/')
            return NormalizeSlow(path);

        // The fast path: most request paths carry no query, no escapes and no dot segments.
        for (var i = 0; i < path.Length; i++)
        {
            var c = path[i];
            if (c == '%' || c == '?' || (c == '.' && IsDotSegmentStart(path, i)))
                return NormalizeSlow(path);
        }
        return path;
    }

    private static bool IsDotSegmentStart(string path, int i)
    {
        // "." or ".." forming a whole segment: preceded by '/', followed by '/', '.' + '/', or the end.
        if (path[i - 1] != '/')
            return false;
        var end = i + 1;
        if (end < path.Length && path[end] == '.')
            end++;
        return end == path.Length || path[end] == '/' || path[end] == '?';
    }

    private static string NormalizeSlow(string path)
    {
        var query = path.IndexOf('?');
        var raw = query >= 0 ? path.AsSpan(0, query) : path.AsSpan();

        // Decode only unreserved characters; everything else keeps its escape, hex case included.
        var decoded = new System.Text.StringBuilder(raw.Length + 1);
        if (raw.Length == 0 || raw[0] != '/')
            decoded.Append('/');
        for (var i = 0; i < raw.Length; i++)
        {
            if (raw[i] == '%' && i + 2 < raw.Length && TryHex(raw[i + 1], raw[i + 2], out var value)
                && IsUnreserved((char)value))
            {
                decoded.Append((char)value);
                i += 2;
            }
            else
            {
                decoded.Append(raw[i]);
            }
        }
        return RemoveDotSegments(decoded.ToString());
    }

    private static string RemoveDotSegments(string input)
    {
        // Segments are pushed onto a stack; ".." pops one. A trailing "." or ".." leaves the
        // path ending in '/', as RFC 3986 does ("/a/b/.." becomes "/a/").
        var segments = new List<string>();
        var parts = input.Split('/');
        var endsWithSlash = false;
        for (var i = 1; i < parts.Length; i++)
        {
            var part = parts[i];
            var last = i == parts.Length - 1;
            if (part == ".")
            {
                endsWithSlash = last;
            }
            else if (part == "..")
            {
                if (segments.Count > 0)
                    segments.RemoveAt(segments.Count - 1);
                endsWithSlash = last;
            }
            else
            {
                segments.Add(part);
                endsWithSlash = false;
            }
        }
        var result = "/" + string.Join('/', segments);
        return endsWithSlash && result.Length > 1 ? result + "/" : result;
    }

    private static bool TryHex(char high, char low, out int value)
    {
        var h = HexValue(high);
        var l = HexValue(low);
        value = (h << 4) | l;
        return h >= 0 && l >= 0;
    }

    private static int HexValue(char c) => c switch
    {
        >= '0' and <= '9' => c - '0',
        >= 'a' and <= 'f' => c - 'a' + 10,
        >= 'A' and <= 'F' => c - 'A' + 10,
        _ => -1,
    };

    private static bool IsUnreserved(char c) =>
        char.IsAsciiLetterOrDigit(c) || c == '-' || c == '.' || c == '_' || c == '~';
}
