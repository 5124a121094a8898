using System.Net.WebSockets;
using System.Text.Json;

namespace Gantry.Clustering;

/// <summary>Bytes and messages through one node's links, for /status (and tests that measure what a change costs).</summary>
public sealed class LinkCounters
{
    private long _bytesSent, _bytesReceived, _fullSent, _fullReceived, _deltasSent, _deltasReceived, _lastDeltaBytes;

    public long BytesSent => Interlocked.Read(ref _bytesSent);
    public long BytesReceived => Interlocked.Read(ref _bytesReceived);
    public long FullSent => Interlocked.Read(ref _fullSent);
    public long FullReceived => Interlocked.Read(ref _fullReceived);
    public long DeltasSent => Interlocked.Read(ref _deltasSent);
    public long DeltasReceived => Interlocked.Read(ref _deltasReceived);

    /// <summary>The size of the last delta sent or received, as on the wire.</summary>
    public long LastDeltaBytes => Interlocked.Read(ref _lastDeltaBytes);

    public void Sent(int bytes) => Interlocked.Add(ref _bytesSent, bytes);

    public void Received(int bytes) => Interlocked.Add(ref _bytesReceived, bytes);

    public void Counted(string type, int bytes, bool sent)
    {
        if (type == ClusterMessages.Full)
        {
            if (sent)
                Interlocked.Increment(ref _fullSent);
            else
                Interlocked.Increment(ref _fullReceived);
        }
        else if (type == ClusterMessages.Delta)
        {
            if (sent)
                Interlocked.Increment(ref _deltasSent);
            else
                Interlocked.Increment(ref _deltasReceived);
            Interlocked.Exchange(ref _lastDeltaBytes, bytes);
        }
    }

    public System.Text.Json.Nodes.JsonObject ToJson() => new()
    {
        ["bytes_sent"] = BytesSent,
        ["bytes_received"] = BytesReceived,
        ["full_sent"] = FullSent,
        ["full_received"] = FullReceived,
        ["deltas_sent"] = DeltasSent,
        ["deltas_received"] = DeltasReceived,
        ["last_delta_bytes"] = LastDeltaBytes,
    };
}

/// <summary>The side of the link that closed it, and why (a refusal the peer should log).</summary>
public sealed class LinkClosedException(string message) : Exception(message);

/// <summary>
/// One end of a link: sends and receives whole messages, one frame each, at most
/// <c>cluster_max_payload</c> bytes as sent; a larger one is refused with close code 1009. Sends are
/// serialized, since a WebSocket takes one at a time.
/// </summary>
public sealed class ClusterSocket(WebSocket socket, int maxPayload, LinkCounters counters)
{
    private readonly SemaphoreSlim _sending = new(1, 1);
    private byte[] _buffer = new byte[64 * 1024];

    public WebSocket WebSocket => socket;

    public async Task SendAsync(byte[] frame, string type, CancellationToken cancellationToken)
    {
        await _sending.WaitAsync(cancellationToken);
        try
        {
            await socket.SendAsync(frame, WebSocketMessageType.Binary, endOfMessage: true, cancellationToken);
        }
        finally
        {
            _sending.Release();
        }
        counters.Sent(frame.Length);
        counters.Counted(type, frame.Length, sent: true);
    }

    /// <summary>The next message; null when the peer closed the link. Gives up after <paramref name="silence"/> without one.</summary>
    public async Task<JsonDocument?> ReceiveAsync(TimeSpan silence, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(silence);
        var length = 0;
        try
        {
            while (true)
            {
                if (length == _buffer.Length)
                    Array.Resize(ref _buffer, Math.Min(_buffer.Length * 2, maxPayload + 1));
                var result = await socket.ReceiveAsync(_buffer.AsMemory(length), timeout.Token);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    // 1008 is a refusal the peer explained (a release it cannot serve): not worth retrying at once, nor logging each time.
                    if (socket.CloseStatus == WebSocketCloseStatus.PolicyViolation)
                        throw new LinkRefusedException(socket.CloseStatusDescription ?? "refused by the peer");
                    if (socket.CloseStatus is { } status and not WebSocketCloseStatus.NormalClosure)
                        throw new LinkClosedException($"the peer closed the link ({(int)status} {socket.CloseStatusDescription})");
                    return null;
                }
                length += result.Count;
                if (length > maxPayload)
                {
                    await CloseAsync(WebSocketCloseStatus.MessageTooBig, $"message larger than cluster_max_payload ({maxPayload} bytes)");
                    throw new LinkClosedException($"a message larger than cluster_max_payload ({maxPayload} bytes) was refused");
                }
                if (result.EndOfMessage)
                    break;
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            socket.Abort();
            throw new LinkClosedException($"no message for {silence.TotalSeconds} s");
        }
        counters.Received(length);
        var message = ClusterMessages.Decode(_buffer, length, (long)maxPayload * ClusterMessages.ExpansionLimit);
        counters.Counted(ClusterMessages.TypeOf(message), length, sent: false);
        return message;
    }

    /// <summary>Closes with a code and reason the peer logs, without waiting long for its answer.</summary>
    public async Task CloseAsync(WebSocketCloseStatus status, string reason)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
        try
        {
            // The reason travels in a control frame of at most 125 bytes.
            var text = reason.Length > 120 ? reason[..120] : reason;
            await socket.CloseOutputAsync(status, text, timeout.Token);
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException or IOException or ObjectDisposedException)
        {
        }
    }
}
