using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Gantry.Plugins.Logging;
using Gantry.Plugins.Pipeline;

namespace Gantry.Plugins.HttpLog;

/// <summary>Posts a batch of entries to one endpoint, with its own connection pool (keepalive) and timeout.</summary>
internal sealed class HttpLogSender : ILogSender
{
    private readonly HttpClient _client;
    private readonly Uri _endpoint;
    private readonly HttpMethod _method;
    private readonly MediaTypeHeaderValue _contentType;
    private readonly AuthenticationHeaderValue? _basic;
    private readonly (string Name, string Value)[] _headers;

    public HttpLogSender(PluginConfig config)
    {
        var url = new Uri(config.Text("http_endpoint")!);
        // Userinfo in the URL becomes basic authentication, and stays out of the request line.
        if (url.UserInfo.Length > 0)
        {
            _basic = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(Uri.UnescapeDataString(url.UserInfo))));
            url = new UriBuilder(url) { UserName = "", Password = "" }.Uri;
        }
        _endpoint = url;
        _method = new HttpMethod(config.Text("method") ?? "POST");
        _contentType = MediaTypeHeaderValue.Parse(config.Text("content_type") ?? "application/json");
        _headers = config.Values["headers"] is System.Text.Json.Nodes.JsonObject headers
            ? headers.Where(h => h.Value is not null).Select(h => (h.Key, h.Value!.GetValue<string>())).ToArray()
            : [];
        _client = new HttpClient(new SocketsHttpHandler
        {
            UseProxy = false,
            AllowAutoRedirect = false,
            UseCookies = false,
            PooledConnectionIdleTimeout = TimeSpan.FromMilliseconds(config.Number("keepalive", 60000)),
            ConnectTimeout = TimeSpan.FromMilliseconds(Math.Max(1, config.Number("timeout", 10000))),
            AutomaticDecompression = DecompressionMethods.None,
        })
        {
            Timeout = TimeSpan.FromMilliseconds(Math.Max(1, config.Number("timeout", 10000))),
        };
    }

    public async Task SendAsync(IReadOnlyList<byte[]> batch, CancellationToken cancellation)
    {
        using var request = new HttpRequestMessage(_method, _endpoint) { Content = new ByteArrayContent(Body(batch)) };
        request.Content.Headers.ContentType = _contentType;
        if (_basic is not null)
            request.Headers.Authorization = _basic;
        foreach (var (name, value) in _headers)
        {
            request.Headers.Remove(name);
            request.Headers.TryAddWithoutValidation(name, value);
        }
        using var response = await _client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellation);
        var status = (int)response.StatusCode;
        if (status is < 200 or > 399)
            throw new HttpRequestException($"{_endpoint.GetLeftPart(UriPartial.Path)} answered {status}");
    }

    public void Dispose() => _client.Dispose();

    private static byte[] Body(IReadOnlyList<byte[]> batch)
    {
        if (batch.Count == 1)
            return batch[0];
        var length = 2 + batch.Count - 1;
        foreach (var entry in batch)
            length += entry.Length;
        var body = new byte[length];
        body[0] = (byte)'[';
        var at = 1;
        for (var i = 0; i < batch.Count; i++)
        {
            if (i > 0)
                body[at++] = (byte)',';
            batch[i].CopyTo(body, at);
            at += batch[i].Length;
        }
        body[at] = (byte)']';
        return body;
    }
}
