using System.Net;
using System.Net.WebSockets;
using System.Text;

namespace Gantry.Tests.Support;

/// <summary>
/// A real server on loopback that echoes what EchoUpstream does not: a plain request is answered with
/// its own body (the method in X-Method); a WebSocket upgrade is accepted, greeted with
/// "welcome &lt;path&gt;" (the path it was asked for), and every text message answered with "echo: &lt;message&gt;".
/// </summary>
public sealed class RawEchoUpstream() : LoopbackServer(concurrent: true)
{
    protected override Task HandleAsync(HttpListenerContext context) =>
        context.Request.IsWebSocketRequest ? EchoMessagesAsync(context) : EchoBodyAsync(context);

    private static async Task EchoBodyAsync(HttpListenerContext context)
    {
        try
        {
            context.Response.AddHeader("X-Method", context.Request.HttpMethod);
            await context.Request.InputStream.CopyToAsync(context.Response.OutputStream);
            context.Response.Close();
        }
        catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or IOException)
        {
            // The client or the test went away.
        }
    }

    private static async Task EchoMessagesAsync(HttpListenerContext context)
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
}
