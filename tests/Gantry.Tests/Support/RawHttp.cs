using System.Net.Sockets;
using System.Text;

namespace Gantry.Tests.Support;

/// <summary>
/// Sends a request exactly as written, over a plain socket. HttpClient cannot send some of the paths the
/// bad-input tests need: System.Uri resolves <c>%2e%2e</c> and dot segments before sending.
/// </summary>
public static class RawHttp
{
    public static async Task<(int Status, string Body)> SendAsync(string baseUrl, string method, string target, string? json = null)
    {
        var uri = new Uri(baseUrl);
        using var client = new TcpClient();
        await client.ConnectAsync(uri.Host, uri.Port);
        await using var stream = client.GetStream();
        var body = json is null ? [] : Encoding.UTF8.GetBytes(json);
        var head = $"{method} {target} HTTP/1.1\r\nHost: {uri.Authority}\r\nConnection: close\r\n"
            + (json is null ? "" : $"Content-Type: application/json\r\nContent-Length: {body.Length}\r\n") + "\r\n";
        await stream.WriteAsync(Encoding.ASCII.GetBytes(head));
        await stream.WriteAsync(body);
        using var read = new MemoryStream();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        await stream.CopyToAsync(read, timeout.Token);
        var text = Encoding.UTF8.GetString(read.ToArray());
        var headerEnd = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        var status = int.Parse(text.Split(' ', 3)[1]);
        var headers = text[..headerEnd];
        var content = text[(headerEnd + 4)..];
        if (headers.Contains("Transfer-Encoding: chunked", StringComparison.OrdinalIgnoreCase))
            content = Dechunk(content);
        return (status, content);
    }

    private static string Dechunk(string chunked)
    {
        var result = new StringBuilder();
        var position = 0;
        while (position < chunked.Length)
        {
            var lineEnd = chunked.IndexOf("\r\n", position, StringComparison.Ordinal);
            var size = Convert.ToInt32(chunked[position..lineEnd].Split(';')[0], 16);
            if (size == 0)
                break;
            result.Append(chunked, lineEnd + 2, size);
            position = lineEnd + 2 + size + 2;
        }
        return result.ToString();
    }
}
