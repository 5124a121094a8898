using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Gantry.Tests.Proxy;

/// <summary>
/// A raw HTTP/1.1 upstream on loopback that answers each request by its path with bytes written by hand
/// (well-formed or not, at once or slowly), keeps connections alive, and records every connection: the
/// requests it carried, their raw bytes, and when the proxy closed it.
/// </summary>
/// <param name="answer">Writes the answer to a request; returns false to close the connection after it.</param>
public sealed class ScriptedUpstream(Func<ScriptedRequest, Stream, Task<bool>> answer) : RecordingUpstream<ScriptedConnection>
{
    /// <summary>The connections that carried a request whose path starts with <paramref name="prefix"/>.</summary>
    public IReadOnlyList<ScriptedConnection> ConnectionsFor(string prefix) =>
        [.. Connections.Where(c => c.Requests.Any(r => r.Path.StartsWith(prefix, StringComparison.Ordinal)))];

    protected override async Task ServeAsync(TcpClient client, ScriptedConnection connection)
    {
        try
        {
            var stream = client.GetStream();
            var reader = new RawReader(stream);
            while (await ScriptedRequest.ReadAsync(reader, Stop.Token) is { } request)
            {
                connection.Add(request);
                if (!await answer(request, stream))
                    break;
            }
        }
        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
        {
            // The proxy closed or reset the connection.
        }
        finally
        {
            connection.Close();
        }
    }
}

/// <summary>One connection the scripted upstream accepted.</summary>
public sealed class ScriptedConnection
{
    private readonly List<ScriptedRequest> _requests = [];
    private readonly TaskCompletionSource _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public IReadOnlyList<ScriptedRequest> Requests
    {
        get
        {
            lock (_requests)
                return [.. _requests];
        }
    }

    /// <summary>Completes when the proxy closed the connection (or the upstream stopped serving it).</summary>
    public Task Closed => _closed.Task;

    internal void Add(ScriptedRequest request)
    {
        lock (_requests)
            _requests.Add(request);
    }

    internal void Close() => _closed.TrySetResult();
}

/// <summary>A request as the upstream read it: its head as sent, its body de-chunked, and the chunked trailer section if any.</summary>
public sealed record ScriptedRequest(string Method, string Path, string Head, byte[] Body, string? Trailers)
{
    public string BodyText => Encoding.Latin1.GetString(Body);

    internal static async Task<ScriptedRequest?> ReadAsync(RawReader reader, CancellationToken cancellation)
    {
        var head = new StringBuilder();
        var line = await reader.ReadLineAsync(cancellation);
        if (line is null)
            return null;
        var requestLine = line;
        head.Append(line).Append("\r\n");
        long length = 0;
        var chunked = false;
        while ((line = await reader.ReadLineAsync(cancellation)) is { Length: > 0 })
        {
            head.Append(line).Append("\r\n");
            var colon = line.IndexOf(':');
            var name = line[..colon];
            var value = line[(colon + 1)..].Trim();
            if (name.Equals("Content-Length", StringComparison.OrdinalIgnoreCase))
                length = long.Parse(value);
            if (name.Equals("Transfer-Encoding", StringComparison.OrdinalIgnoreCase))
                chunked = true;
        }
        var parts = requestLine.Split(' ');
        if (!chunked)
            return new(parts[0], parts[1], head.ToString(), await reader.ReadBytesAsync((int)length, cancellation), null);
        var body = new MemoryStream();
        while (true)
        {
            var size = Convert.ToInt32((await reader.ReadLineAsync(cancellation))!.Split(';')[0], 16);
            if (size == 0)
                break;
            body.Write(await reader.ReadBytesAsync(size, cancellation));
            await reader.ReadLineAsync(cancellation);
        }
        var trailers = new StringBuilder();
        while ((line = await reader.ReadLineAsync(cancellation)) is { Length: > 0 })
            trailers.Append(line).Append("\r\n");
        return new(parts[0], parts[1], head.ToString(), body.ToArray(), trailers.ToString());
    }
}

/// <summary>Lines and counted bytes from a stream, for the scripted upstream's parser.</summary>
internal sealed class RawReader(Stream stream)
{
    private readonly byte[] _buffer = new byte[16384];
    private int _start;
    private int _end;

    public async Task<string?> ReadLineAsync(CancellationToken cancellation)
    {
        var line = new MemoryStream();
        while (true)
        {
            if (_start == _end && !await FillAsync(cancellation))
                return line.Length == 0 ? null : throw new IOException("the connection ended inside a line");
            var lf = Array.IndexOf(_buffer, (byte)'\n', _start, _end - _start);
            if (lf < 0)
            {
                line.Write(_buffer, _start, _end - _start);
                _start = _end;
                continue;
            }
            line.Write(_buffer, _start, lf - _start);
            _start = lf + 1;
            return Encoding.Latin1.GetString(line.ToArray()).TrimEnd('\r');
        }
    }

    public async Task<byte[]> ReadBytesAsync(int count, CancellationToken cancellation)
    {
        var result = new byte[count];
        var copied = 0;
        while (copied < count)
        {
            if (_start == _end && !await FillAsync(cancellation))
                throw new IOException("the connection ended inside a body");
            var take = Math.Min(count - copied, _end - _start);
            Array.Copy(_buffer, _start, result, copied, take);
            _start += take;
            copied += take;
        }
        return result;
    }

    private async Task<bool> FillAsync(CancellationToken cancellation)
    {
        _start = 0;
        _end = await stream.ReadAsync(_buffer, cancellation);
        return _end > 0;
    }
}
