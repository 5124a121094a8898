using static Gantry.Tests.Support.ProxyNode;

namespace Gantry.Tests.Plugins;

/// <summary>
/// Requests for the rate-limiting tests of every policy: each names its client in X-Client, which the
/// instances under test limit by, so a probe waiting for an instance to be in force counts apart from the
/// requests under test.
/// </summary>
public static class RateLimitRequests
{
    public static async Task<HttpResponseMessage> GetAsync(string url, string client)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        request.Headers.Add("X-Client", client);
        return await Http.SendAsync(request);
    }

    public static string Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) ? string.Join(",", values) : "";

    /// <summary>Polls as the client "probe" until the instance with this minute limit answers with its headers.</summary>
    public static Task<HttpResponseMessage> UntilLimitedAsync(string url, int limit) =>
        UntilAsync(() => GetAsync(url, "probe"), r => Header(r, "X-RateLimit-Limit-Minute") == limit.ToString(), TimeSpan.FromSeconds(20));

    /// <summary>Waits out the end of a minute, so the requests under test fall in one window.</summary>
    public static async Task InOneMinuteWindowAsync()
    {
        var second = DateTimeOffset.UtcNow.Second;
        if (second >= 45)
            await Task.Delay(TimeSpan.FromSeconds(61 - second));
    }
}
