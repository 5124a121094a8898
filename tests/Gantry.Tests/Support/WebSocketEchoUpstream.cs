using System.Net;
using System.Net.WebSockets;
using System.Text;

namespace Gantry.Tests.Support;

/// <summary>
/// A real WebSocket server on loopback: on connect it sends "welcome &lt;path&gt;" (the path it was asked
/// for), then answers every text message with "echo: &lt;message&gt;".
/// </summary>
public sealed class WebSocketEchoUpstream : IAsyncDisposable
{
    private readonly HttpListener _listener = new();
    private readonly Task _loop;

    public WebSocketEchoUpstream()
    {
        Port = TestInstallation.FreePort();
        _listener.Prefixes.Add($"http://127.0.0.1:{Port}/");
        _listener.Start();
        _loop = Task.Run(LoopAsync);
    }

    public int Port { get; }

    private async Task LoopAsync()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync();
            }
            catch (Exception) when (!_listener.IsListening)
            {
                return;
            }
            if (!context.Request.IsWebSocketRequest)
            {
                context.Response.StatusCode = 400;
                context.Response.Close();
                continue;
            }
            _ = Task.Run(() => EchoAsync(context));
        }
    }

    private static async Task EchoAsync(HttpListenerContext context)
    {
        try
        {
            var socket = (await context.AcceptWebSocketAsync(subProtocol: null)).WebSocket;
            await socket.SendAsync(Encoding.UTF8.GetBytes("welcome " + context.Request.RawUrl), WebSocketMessageType.Text, true, CancellationToken.None);
            var buffer = new byte[4096];
            while (socket.State == WebSocketState.Open)
            {
                var received = await socket.ReceiveAsync(buffer, CancellationToken.None);
                if (received.MessageType == WebSocketMessageType.Close)
                {
                    await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None);
                    return;
                }
                var text = Encoding.UTF8.GetString(buffer, 0, received.Count);
                await socket.SendAsync(Encoding.UTF8.GetBytes("echo: " + text), WebSocketMessageType.Text, true, CancellationToken.None);
            }
        }
        catch (Exception e) when (e is WebSocketException or HttpListenerException or ObjectDisposedException)
        {
            // The client or the test went away.
        }
    }

    public async ValueTask DisposeAsync()
    {
        _listener.Stop();
        _listener.Close();
        await _loop.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }
}
