using System.Buffers;

namespace Gantry.Proxy;

/// <summary>
/// The last look at a request before it is written to the upstream: a CR or LF in a header value ends
/// the header (or the head) early and lets the rest be read as more headers or a second request; a NUL
/// is cut short or refused differently by each server. Kestrel refuses such bytes from the client, but
/// Gantry writes headers of its own (X-Forwarded-*, Host, Via, the request id) and its plugins write
/// more into the request (X-Consumer-Username carries whatever the Admin API took as a username).
/// HttpClient sends values added without validation as they are; YARP, copying the request's headers,
/// silently leaves out those with a CR or LF but not those with a NUL. Both sides are checked, so that
/// any such value refuses the request rather than sending it, or sending it without the header.
/// </summary>
public static class UpstreamHeaderGuard
{
    private static readonly SearchValues<char> LineBreaksAndNul = SearchValues.Create("\r\n\0");

    /// <summary>The name of the first header of the incoming request (as plugins left it) whose value has a CR, LF or NUL, or null.</summary>
    public static string? FindUnsafe(IHeaderDictionary headers)
    {
        foreach (var (name, values) in headers)
        {
            foreach (var value in values)
            {
                if (!IsSafe(value))
                    return name;
            }
        }
        return null;
    }

    /// <summary>The name of the first header of the upstream request whose value has a CR, LF or NUL, or null.</summary>
    public static string? FindUnsafe(HttpRequestMessage request)
    {
        if (FindUnsafe(request.Headers.NonValidated) is { } name)
            return name;
        return request.Content is null ? null : FindUnsafe(request.Content.Headers.NonValidated);
    }

    public static bool IsSafe(ReadOnlySpan<char> value) => !value.ContainsAny(LineBreaksAndNul);

    private static string? FindUnsafe(System.Net.Http.Headers.HttpHeadersNonValidated headers)
    {
        foreach (var (name, values) in headers)
        {
            foreach (var value in values)
            {
                if (!IsSafe(value))
                    return name;
            }
        }
        return null;
    }
}
