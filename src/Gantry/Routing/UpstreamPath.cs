namespace Gantry.Routing;

/// <summary>
/// The path sent upstream under path_handling v0, from the service path, strip_path, the
/// normalised request path and the text the route matched (Kong core spec, "Upstream URI (v0)").
/// The request path is the raw one (percent-encoded as the client sent it) after
/// <see cref="PathNormalizer"/>, which decodes only unreserved characters: what is built here never
/// holds a byte the client sent encoded, such as a CR or LF, in decoded form.
/// </summary>
public static class UpstreamPath
{
    public static string Compute(string? servicePath, bool stripPath, string requestPath, int matchedLength)
    {
        var baseline = string.IsNullOrEmpty(servicePath) ? "/" : servicePath;
        var baseEndsWithSlash = baseline[^1] == '/';

        if (!stripPath)
        {
            if (baseline == "/")
                return requestPath;
            if (baseEndsWithSlash)
                return string.Concat(baseline, requestPath.AsSpan(1));
            return requestPath == "/" ? baseline : baseline + requestPath;
        }

        var post = requestPath.AsSpan(matchedLength);
        if (post.StartsWith("./"))
            post = post[2..];
        else if (post.StartsWith("../"))
            post = post[3..];

        if (baseEndsWithSlash)
        {
            if (post.IsEmpty)
            {
                if (baseline == "/")
                    return "/";
                return requestPath[^1] == '/' ? baseline : baseline[..^1];
            }
            if (baseline == "/" && post[0] == '/' && post.Length == requestPath.Length)
                return requestPath;
            return post[0] == '/' ? string.Concat(baseline, post[1..]) : string.Concat(baseline, post);
        }

        if (post.IsEmpty)
            return requestPath.Length > 1 && requestPath[^1] == '/' ? baseline + "/" : baseline;
        return post[0] == '/' ? string.Concat(baseline, post) : string.Concat(baseline, "/", post);
    }
}
