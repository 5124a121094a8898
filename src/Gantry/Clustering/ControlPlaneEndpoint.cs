using System.Net.WebSockets;
using System.Text.Json;
using System.Threading.Channels;

namespace Gantry.Clustering;

/// <summary>A message of the link that is not configuration (a pong, a status), queued in order with it.</summary>
public sealed record MessageItem(string Type, byte[] Frame) : FeedItem;

/// <summary>
/// The control plane's end of the link, <c>/v1/gantry/sync</c> on cluster_listen (whose TLS handshake has
/// already checked the data plane's certificate): takes the data plane's hello, decides whether to serve
/// it, then sends it what brings it up to date and every later change, answers its pings, and sends the
/// whole configuration again when it asks (resync).
/// </summary>
public sealed class ControlPlaneEndpoint(ConfigFeed feed, int maxPayload, ClusterTimings timings, LinkCounters counters, ILogger logger)
{
    public const string Path = "/v1/gantry/sync";

    // The last whole configuration encoded, shared by the data planes that need it at the same version.
    private (long Version, string Hash, List<byte[]> Parts)? _lastFull;
    private readonly object _fullGate = new();

    /// <summary>Data planes connected to this node now, for /status.</summary>
    public int Connected => feed.Subscribers;

    public async Task HandleAsync(HttpContext http)
    {
        if (http.Request.Path != Path)
        {
            http.Response.StatusCode = 404;
            return;
        }
        if (!http.WebSockets.IsWebSocketRequest)
        {
            http.Response.StatusCode = 400;
            await http.Response.WriteAsync("a WebSocket upgrade is expected here");
            return;
        }
        var certificate = await http.Connection.GetClientCertificateAsync(http.RequestAborted);
        var ip = http.Connection.RemoteIpAddress?.ToString() ?? "";
        using var webSocket = await http.WebSockets.AcceptWebSocketAsync();
        var socket = new ClusterSocket(webSocket, maxPayload, counters);
        var stopping = http.RequestAborted;
        DataPlaneHello hello;
        try
        {
            using var first = await socket.ReceiveAsync(timings.Silence, stopping);
            if (first is null)
                return;
            if (ClusterMessages.TypeOf(first) != ClusterMessages.Hello)
            {
                logger.LogWarning("data plane at {Ip} refused: its first message is '{Type}', not hello", ip, ClusterMessages.TypeOf(first));
                await socket.CloseAsync(WebSocketCloseStatus.ProtocolError, "the first message must be hello");
                return;
            }
            hello = DataPlaneHello.Parse(first.RootElement, ip, certificate);
        }
        catch (Exception e) when (e is LinkClosedException or InvalidDataException or WebSocketException)
        {
            logger.LogWarning("data plane at {Ip} dropped before its hello: {Message}", ip, e.Message);
            return;
        }

        var verdict = Judge(hello);
        if (verdict is HelloVerdict.Refuse refuse)
        {
            logger.LogWarning("data plane {NodeId} ({Hostname}, {Ip}, release {Version}) refused: {Reason}", hello.NodeId, hello.Hostname, ip, hello.Version, refuse.Reason);
            await socket.CloseAsync(WebSocketCloseStatus.PolicyViolation, $"{refuse.SyncStatus}: {refuse.Reason}");
            return;
        }
        logger.LogInformation("data plane {NodeId} ({Hostname}, {Ip}, release {Version}) connected, serving {Hash}", hello.NodeId, hello.Hostname, ip, hello.Version, hello.ConfigHash);
        var output = Channel.CreateUnbounded<FeedItem>(new UnboundedChannelOptions { SingleReader = true });
        IDisposable? subscription = null;
        if (verdict is HelloVerdict.Withhold withhold)
        {
            output.Writer.TryWrite(new MessageItem(ClusterMessages.Status, ClusterMessages.Encode(ClusterMessages.Status, w =>
            {
                w.WriteString("sync_status", withhold.SyncStatus);
                w.WriteString("message", withhold.Message);
            })));
        }
        else
        {
            subscription = feed.Subscribe(hello.ConfigHash, output.Writer);
        }
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(stopping);
        var sender = SendAllAsync(output.Reader, socket, hello, stop.Token);
        var reason = "closed by the data plane";
        try
        {
            while (!stop.IsCancellationRequested)
            {
                using var message = await socket.ReceiveAsync(timings.Silence, stop.Token);
                if (message is null)
                    break;
                var body = message.RootElement;
                switch (ClusterMessages.TypeOf(message))
                {
                    case ClusterMessages.Ping:
                        output.Writer.TryWrite(new MessageItem(ClusterMessages.Pong, ClusterMessages.Encode(ClusterMessages.Pong)));
                        await SeenAsync(hello, ClusterMessages.StringOf(body, "config_hash"));
                        break;
                    case ClusterMessages.Applied:
                        logger.LogDebug("data plane {NodeId} applied version {Version} ({Hash})", hello.NodeId, ClusterMessages.LongOf(body, "version"), ClusterMessages.StringOf(body, "config_hash"));
                        await SeenAsync(hello, ClusterMessages.StringOf(body, "config_hash"));
                        break;
                    case ClusterMessages.Resync:
                        logger.LogWarning("data plane {NodeId} asks for the whole configuration: {Reason}", hello.NodeId, ClusterMessages.StringOf(body, "reason"));
                        if (subscription is not null)
                            feed.QueueFull(output.Writer);
                        break;
                }
                if (sender.IsCompleted)
                    break;
            }
        }
        catch (Exception e) when (e is LinkClosedException or InvalidDataException or WebSocketException or OperationCanceledException)
        {
            reason = e.Message;
        }
        finally
        {
            subscription?.Dispose();
            output.Writer.TryComplete();
            await stop.CancelAsync();
            await sender.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
        logger.LogInformation("data plane {NodeId} ({Hostname}, {Ip}) disconnected: {Reason}", hello.NodeId, hello.Hostname, ip, reason);
    }

    /// <summary>
    /// The seam where the compatibility rules decide (release, plugin set): accepted, refused (closed with
    /// 1008), or kept connected without configuration. Until they are wired in, every data plane is accepted.
    /// </summary>
    private static HelloVerdict Judge(DataPlaneHello hello) => new HelloVerdict.Accept();

    /// <summary>The seam where the data plane registry records a hello, ping or applied (last seen, hash); nothing yet.</summary>
    private static Task SeenAsync(DataPlaneHello hello, string? configHash) => Task.CompletedTask;

    private async Task SendAllAsync(ChannelReader<FeedItem> items, ClusterSocket socket, DataPlaneHello hello, CancellationToken cancellationToken)
    {
        try
        {
            await foreach (var item in items.ReadAllAsync(cancellationToken))
            {
                // The seam where fields an older data plane does not know are stripped (and the hash it is sent
                // recomputed over what it gets); every data plane gets the same frames until then.
                switch (item)
                {
                    case DeltaItem delta:
                        await socket.SendAsync(delta.Delta.Encoded, ClusterMessages.Delta, cancellationToken);
                        break;
                    case FullItem full:
                        var parts = EncodedFull(full);
                        foreach (var part in parts)
                            await socket.SendAsync(part, ClusterMessages.Full, cancellationToken);
                        logger.LogInformation("sent the whole configuration (version {Version}, {Entities} entities, {Bytes} bytes in {Parts} parts) to data plane {NodeId}",
                            full.Version, full.Entities.Count, parts.Sum(p => p.Length), parts.Count, hello.NodeId);
                        break;
                    case MessageItem message:
                        await socket.SendAsync(message.Frame, message.Type, cancellationToken);
                        break;
                }
            }
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException or IOException or ObjectDisposedException)
        {
            socket.WebSocket.Abort();
        }
    }

    private List<byte[]> EncodedFull(FullItem full)
    {
        lock (_fullGate)
        {
            if (_lastFull is { } last && last.Version == full.Version && last.Hash == full.Hash)
                return last.Parts;
        }
        var parts = ClusterMessages.EncodeFull(full.Version, full.Hash, full.Entities, maxPayload);
        lock (_fullGate)
            _lastFull = (full.Version, full.Hash, parts);
        return parts;
    }
}
