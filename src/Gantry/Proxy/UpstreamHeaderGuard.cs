using System.Buffers;

namespace Gantry.Proxy;

/// <summary>
/// The last look at a request before it is written to the upstream: a CR or LF in a header value ends
/// the header (or the head) early and lets the rest be read as more headers or a second request; a NUL
/// is cut short or refused differently by each server. HttpClient writes values added without
/// validation as they are, and YARP copies the client's headers (including those plugins set) that way,
/// so every value is checked here, whoever wrote it.
/// </summary>
public static class UpstreamHeaderGuard
{
    private static readonly SearchValues<char> LineBreaksAndNul = SearchValues.Create("\r\n\0");

    /// <summary>The name of the first header whose value has a CR, LF or NUL, or null when all are clean.</summary>
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
