using Gantry.Plugins.Pipeline;
using Microsoft.AspNetCore.Http.Features;

namespace Gantry.Plugins.RequestSizeLimiting;

/// <summary>
/// Refuses a body whose Content-Length is over the limit before anything is forwarded. A body without a
/// length (chunked, or HTTP/2 without the header) is counted as it streams upstream and refused the moment
/// it passes the limit, so the node never holds more of it than one read.
/// </summary>
public sealed class RequestSizeLimitingHandler(PluginConfig config) : PluginHandler
{
    public const string TooLarge = "Request size limit exceeded";

    private readonly long _allowedBytes = (long)config.Number("allowed_payload_size", 128) * (config.Text("size_unit") switch
    {
        "bytes" => 1L,
        "kilobytes" => 1L << 10,
        _ => 1L << 20,
    });

    private readonly bool _requireContentLength = config.Flag("require_content_length", false);

    public override ValueTask AccessAsync(PluginRequest request)
    {
        var http = request.Http.Request;
        if (http.ContentLength is { } length)
        {
            if (length > _allowedBytes)
                // A client waiting for 100 Continue is told its expectation failed, so it does not send the body at all.
                request.Exit(http.Headers.Expect.ToString().Equals("100-continue", StringComparison.OrdinalIgnoreCase) ? 417 : 413, TooLarge);
            return ValueTask.CompletedTask;
        }
        if (_requireContentLength)
        {
            request.Exit(411, "A valid Content-Length header is required");
            return ValueTask.CompletedTask;
        }
        if (request.Http.Features.Get<IHttpRequestBodyDetectionFeature>()?.CanHaveBody != false)
            http.Body = new SizeLimitedStream(http.Body, _allowedBytes);
        return ValueTask.CompletedTask;
    }
}
