using System.Net;
using System.Net.Sockets;
using System.Text;
using Gantry.Tests.Support;
using Xunit.Abstractions;
using static Gantry.Tests.Support.ProxyNode;

namespace Gantry.Tests.Proxy;

/// <summary>
/// Sends the same seeded, generated requests through a node on Gantry's own HTTP/1.1 forwarder and a
/// node on YARP's (one store, one recording upstream) and compares, case by case, what the upstream
/// received and what the client received. A difference fails the test unless the allow-list names it
/// with the reason (each one is also listed in docs/proxy.md, "Differences between the two forwarders").
/// </summary>
public abstract class ForwarderDifferentialTests(DifferentialNodes nodes, ITestOutputHelper output)
{
    /// <summary>Fixed so a failure can be replayed; GANTRY_DIFF_SEED overrides it to explore.</summary>
    private static readonly int Seed = int.TryParse(Environment.GetEnvironmentVariable("GANTRY_DIFF_SEED"), out var seed) ? seed : 15;

    private const int Cases = 200;

    [Fact]
    public async Task Both_forwarders_deliver_the_same_bytes_upstream_and_to_the_client_apart_from_documented_differences()
    {
        var random = new Random(Seed);
        var unexpected = new List<string>();
        var allowed = new Dictionary<string, int>();
        var mix = new Dictionary<string, int>();
        for (var i = 0; i < Cases; i++)
        {
            var request = GeneratedRequest.Next(random, i);
            foreach (var trait in request.Traits())
                mix[trait] = mix.GetValueOrDefault(trait) + 1;
            var auto = await RunAsync(nodes.AutoProxy, request, "a");
            var yarp = await RunAsync(nodes.YarpProxy, request, "y");
            foreach (var (side, observed) in new[] { ("auto", auto), ("yarp", yarp) })
                unexpected.AddRange(Violations(request, observed).Select(v => $"case {i} ({request}) on {side}: {v}"));
            foreach (var difference in Compare(auto, yarp))
            {
                if (DocumentedDifferences.Reason(request, difference) is { } reason)
                    allowed[reason] = allowed.GetValueOrDefault(reason) + 1;
                else
                    unexpected.Add($"case {i} ({request}): {difference}");
            }
        }
        output.WriteLine($"seed {Seed}: {Cases} cases through both forwarders; {unexpected.Count} unexpected findings (differences not documented, or a forwarder failing a case)");
        output.WriteLine("  cases: " + string.Join(", ", mix.OrderBy(m => m.Key, StringComparer.Ordinal).Select(m => $"{m.Key} {m.Value}")));
        foreach (var (reason, count) in allowed)
            output.WriteLine($"  documented ({count}): {reason}");
        foreach (var line in unexpected)
            output.WriteLine("  " + line);
        Assert.True(unexpected.Count == 0, $"seed {Seed}: {unexpected.Count} unexpected findings:\n{string.Join("\n", unexpected.Take(40))}");
    }

    private async Task<Observed> RunAsync(string proxyAddress, GeneratedRequest request, string side)
    {
        var path = request.PathFor(side);
        var client = await DifferentialClient.SendAsync(proxyAddress, request, path);
        var upstream = await nodes.Upstream.RequestForAsync(path, request.Abort == AbortKind.MidBody ? TimeSpan.FromMilliseconds(300) : TimeSpan.FromSeconds(3));
        return new Observed(
            upstream is null ? null : Normalise(upstream.Head, UpstreamVaryingHeaders).Replace(path, request.PathFor(""), StringComparison.Ordinal),
            upstream?.Body,
            upstream?.Trailers,
            client with { Head = Normalise(client.Head, ClientVaryingHeaders) });
    }

    /// <summary>
    /// What either forwarder must deliver, so that two equally broken forwarders do not pass as equal: the
    /// upstream gets the whole body the client sent (nothing when the client broke off), and the client a
    /// final answer with the upstream's status.
    /// </summary>
    private static IEnumerable<string> Violations(GeneratedRequest request, Observed observed)
    {
        if (request.Abort == AbortKind.MidBody)
        {
            if (observed.UpstreamHead is not null)
                yield return "a request whose client broke off mid-body reached the upstream whole";
            yield break;
        }
        if (observed.UpstreamHead is null)
        {
            yield return "the upstream received no request";
            yield break;
        }
        if (!observed.UpstreamBody!.AsSpan().SequenceEqual(request.Body))
            yield return $"the upstream received {observed.UpstreamBody!.Length} body bytes, not the {request.Body.Length} sent";
        var expected = request.Response switch
        {
            ResponseKind.NoContent => "204",
            ResponseKind.NotModified => "304",
            ResponseKind.Interim => "201",
            _ => "200",
        };
        if (!observed.Client.Head.StartsWith($"HTTP/1.1 {expected} ", StringComparison.Ordinal))
            yield return $"the client received [{observed.Client.Head.Split("\r\n")[0]}], not {expected}";
    }

    /// <summary>Headers whose values differ between two nodes or two requests by design.</summary>
    private static readonly string[] UpstreamVaryingHeaders = ["X-Forwarded-Port", "X-Kong-Request-Id"];

    private static readonly string[] ClientVaryingHeaders = ["Date", "X-Kong-Proxy-Latency", "X-Kong-Upstream-Latency", "X-Kong-Request-Id"];

    private static string Normalise(string head, string[] varying)
    {
        var lines = head.Split("\r\n").Select(line =>
        {
            var colon = line.IndexOf(':');
            return colon > 0 && varying.Contains(line[..colon], StringComparer.OrdinalIgnoreCase) ? line[..colon] + ": *" : line;
        });
        return string.Join("\r\n", lines);
    }

    private static IEnumerable<Difference> Compare(Observed auto, Observed yarp)
    {
        if ((auto.UpstreamHead is null) != (yarp.UpstreamHead is null))
            yield return new Difference("upstream request", auto.UpstreamHead is null ? "none" : "received", yarp.UpstreamHead is null ? "none" : "received");
        else if (auto.UpstreamHead is not null)
        {
            foreach (var line in LineDifferences("upstream head", auto.UpstreamHead, yarp.UpstreamHead!))
                yield return line;
            if (!auto.UpstreamBody!.AsSpan().SequenceEqual(yarp.UpstreamBody))
                yield return new Difference("upstream body", $"{auto.UpstreamBody!.Length} bytes", $"{yarp.UpstreamBody!.Length} bytes");
            if (auto.UpstreamTrailers != yarp.UpstreamTrailers)
                yield return new Difference("upstream trailers", Show(auto.UpstreamTrailers), Show(yarp.UpstreamTrailers));
        }
        if (auto.Client.Interim != yarp.Client.Interim)
            yield return new Difference("client interim", Show(auto.Client.Interim), Show(yarp.Client.Interim));
        foreach (var line in LineDifferences("client head", auto.Client.Head, yarp.Client.Head))
            yield return line;
        if (!auto.Client.Body.AsSpan().SequenceEqual(yarp.Client.Body))
            yield return new Difference("client body", $"{auto.Client.Body.Length} bytes", $"{yarp.Client.Body.Length} bytes");
        if (auto.Client.Trailers != yarp.Client.Trailers)
            yield return new Difference("client trailers", Show(auto.Client.Trailers), Show(yarp.Client.Trailers));
    }

    /// <summary>The lines one side has and the other lacks, then an order difference if the sets agree.</summary>
    private static IEnumerable<Difference> LineDifferences(string what, string auto, string yarp)
    {
        var autoLines = auto.Split("\r\n");
        var yarpLines = yarp.Split("\r\n");
        var any = false;
        foreach (var line in autoLines.Except(yarpLines))
        {
            any = true;
            yield return new Difference(what, Show(line), "-");
        }
        foreach (var line in yarpLines.Except(autoLines))
        {
            any = true;
            yield return new Difference(what, "-", Show(line));
        }
        if (!any && !autoLines.SequenceEqual(yarpLines))
            yield return new Difference(what + " order", string.Join(" | ", autoLines), string.Join(" | ", yarpLines));
    }

    private static string Show(string? text) =>
        text is null ? "null" : text.Length > 120 ? text[..120].ReplaceLineEndings("\\n") + "…" : text.ReplaceLineEndings("\\n");
}

/// <summary>One difference between the two forwarders: where it was seen, and each side's value.</summary>
public sealed record Difference(string Where, string Auto, string Yarp)
{
    public override string ToString() => $"{Where}: auto [{Auto}] yarp [{Yarp}]";
}

/// <summary>What one forwarder delivered for one case: the upstream's view (null when no whole request arrived) and the client's.</summary>
internal sealed record Observed(string? UpstreamHead, byte[]? UpstreamBody, string? UpstreamTrailers, ClientView Client);

/// <summary>
/// The differences docs/proxy.md documents, recognised by the case and the difference; anything else is
/// a bug in one of the forwarders.
/// </summary>
internal static class DocumentedDifferences
{
    public static string? Reason(GeneratedRequest request, Difference difference)
    {
        if (request.Expect && difference.Where == "upstream head" && difference.Yarp.StartsWith("Expect:", StringComparison.OrdinalIgnoreCase))
            return "Expect: 100-continue is answered by Kestrel with Gantry's forwarder, forwarded by YARP's";
        if (request.RequestTrailers && difference.Where == "upstream trailers")
            return "trailers of a chunked request are forwarded by Gantry's forwarder, dropped by YARP's";
        if (request.Expect && difference.Where == "client interim" && difference.Auto == "HTTP/1.1 100 Continue\\n\\n" && difference.Yarp == "")
            return "Expect: 100-continue: Kestrel sends 100 Continue when Gantry's forwarder starts reading a body not yet all received; YARP's reads it only after waiting for the upstream's 100";
        // Kestrel reduces a Connection header holding close or keep-alive to that option before Gantry sees it, so only a list without them can be honoured.
        if (request.ConnectionNamed && request.KeepAlive && difference.Where == "upstream head" && difference.Yarp.StartsWith(GeneratedRequest.ConnectionNamedHeader + ":", StringComparison.OrdinalIgnoreCase))
            return "a header the client's Connection names (with neither close nor keep-alive beside it) is removed by Gantry's forwarder";
        if (request.Response == ResponseKind.ConnectionNamed && difference.Where == "client head" && difference.Yarp.StartsWith(DifferentialUpstream.ConnectionNamedHeader + ":", StringComparison.OrdinalIgnoreCase))
            return "a header the upstream's Connection names is removed by Gantry's forwarder";
        return null;
    }
}

public enum ResponseKind { Length, Chunked, CloseDelimited, NoContent, NotModified, Interim, Large, Slow, Echo, ConnectionNamed }

public enum BodyKind { None, EmptyLength, SmallLength, LargeLength, Chunked, ChunkedTrailers, SlowLength, SlowChunked }

public enum AbortKind { None, MidBody, MidResponse }

/// <summary>One generated request: its method, extra header lines, body and framing, how it ends, and the answer it asks the upstream for.</summary>
public sealed record GeneratedRequest(int Index, string Method, IReadOnlyList<string> Headers, BodyKind BodyKind, byte[] Body, bool Expect, AbortKind Abort, ResponseKind Response, bool KeepAlive, bool Http10)
{
    public const string ConnectionNamedHeader = "X-Conn-Named";

    // Not TRACE: the proxy refuses it before any forwarder (ProxyEdgeTests).
    private static readonly string[] Methods = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];

    public bool RequestTrailers => BodyKind == BodyKind.ChunkedTrailers;

    public bool ConnectionNamed => Headers.Any(h => h.StartsWith(ConnectionNamedHeader + ":", StringComparison.Ordinal));

    public bool Chunked => BodyKind is BodyKind.Chunked or BodyKind.ChunkedTrailers or BodyKind.SlowChunked;

    public bool Slow => BodyKind is BodyKind.SlowLength or BodyKind.SlowChunked;

    /// <summary>The path for one forwarder's run: the upstream tells the runs apart by the side's letter.</summary>
    public string PathFor(string side) => $"/diff/{Response}/{Index}{side}";

    public static GeneratedRequest Next(Random random, int index)
    {
        var method = Methods[random.Next(Methods.Length)];
        var response = (ResponseKind)random.Next(Enum.GetValues<ResponseKind>().Length);
        // An HTTP/1.0 client cannot send a chunked body, nor wait for 100 Continue, nor keep its connection without asking.
        var http10 = random.Next(6) == 0;
        var bodyKind = method is "GET" or "HEAD" or "DELETE" or "OPTIONS" && random.Next(4) != 0 || method == "HEAD"
            ? BodyKind.None
            : (BodyKind)random.Next(Enum.GetValues<BodyKind>().Length);
        if (http10 && bodyKind is BodyKind.Chunked or BodyKind.ChunkedTrailers or BodyKind.SlowChunked)
            bodyKind = BodyKind.SmallLength;
        // Without a length an HTTP/1.0 POST, PUT or PATCH is a 411 from the server, before any forwarder.
        if (http10 && bodyKind == BodyKind.None && method is "POST" or "PUT" or "PATCH")
            bodyKind = BodyKind.EmptyLength;
        var body = bodyKind switch
        {
            BodyKind.None or BodyKind.EmptyLength => [],
            BodyKind.LargeLength => Bytes(random, 1 << 20),
            _ => Bytes(random, random.Next(1, 3000)),
        };
        var headers = new List<string>();
        if (random.Next(3) == 0)
            headers.AddRange(["X-Dup: one", "X-Dup: two"]);
        if (random.Next(3) == 0)
            headers.Add("x-oDD-CaSe: Mixed");
        if (random.Next(4) == 0)
            headers.Add("X-Long: " + new string('v', random.Next(1000, 6000)));
        if (random.Next(4) == 0)
            headers.AddRange(["Keep-Alive: timeout=5", "Proxy-Authorization: Basic Zm9vOmJhcg==", "TE: trailers"]);
        if (random.Next(4) == 0)
            headers.Add(ConnectionNamedHeader + ": drop-me");
        var expect = !http10 && body.Length > 0 && random.Next(8) == 0;
        var abort = random.Next(10) switch
        {
            0 when body.Length > 10 && bodyKind is BodyKind.SmallLength or BodyKind.LargeLength or BodyKind.SlowLength => AbortKind.MidBody,
            1 => AbortKind.MidResponse,
            _ => AbortKind.None,
        };
        if (abort == AbortKind.MidResponse)
            response = ResponseKind.Slow;
        // Most requests ask to close, so the answer ends with the connection; the others keep it open and are read by their framing.
        var keepAlive = !http10 && abort == AbortKind.None && random.Next(3) == 0;
        return new(index, method, headers, bodyKind, body, expect, abort, response, keepAlive, http10);
    }

    /// <summary>What the case exercises, for the run's summary.</summary>
    public IEnumerable<string> Traits()
    {
        yield return Method;
        if (Http10)
            yield return "HTTP/1.0";
        yield return "body " + BodyKind;
        yield return "response " + Response;
        if (Abort != AbortKind.None)
            yield return "abort " + Abort;
        if (Expect)
            yield return "expect";
        if (KeepAlive)
            yield return "keep-alive";
        if (ConnectionNamed)
            yield return "connection-named";
    }

    private static byte[] Bytes(Random random, int length)
    {
        var bytes = new byte[length];
        random.NextBytes(bytes);
        return bytes;
    }

    public override string ToString() =>
        $"{Method}{(Http10 ? " HTTP/1.0" : "")} {Response} body={BodyKind}/{Body.Length}{(KeepAlive ? " keep-alive" : "")}{(Expect ? " expect" : "")}{(Abort != AbortKind.None ? " abort=" + Abort : "")} headers={Headers.Count}";
}

/// <summary>What the client read: interim heads, the final head (status line and headers), the de-chunked body and any trailers.</summary>
public sealed record ClientView(string Interim, string Head, byte[] Body, string? Trailers);

/// <summary>A client on a bare socket, so that framing, pacing and aborts are exactly as generated.</summary>
internal static class DifferentialClient
{
    public static async Task<ClientView> SendAsync(string proxyAddress, GeneratedRequest request, string path)
    {
        using var client = new TcpClient { NoDelay = true };
        await client.ConnectAsync(IPAddress.Loopback, int.Parse(proxyAddress.Split(':')[1]));
        var stream = client.GetStream();
        var head = new StringBuilder($"{request.Method} {path} HTTP/{(request.Http10 ? "1.0" : "1.1")}\r\nHost: diff.test\r\n");
        var connection = string.Join(", ", new[] { request.KeepAlive ? null : "close", request.ConnectionNamed ? GeneratedRequest.ConnectionNamedHeader : null }.OfType<string>());
        if (connection.Length > 0)
            head.Append($"Connection: {connection}\r\n");
        foreach (var header in request.Headers)
            head.Append(header).Append("\r\n");
        if (request.Chunked)
            head.Append("Transfer-Encoding: chunked\r\n");
        else if (request.BodyKind != BodyKind.None)
            head.Append($"Content-Length: {request.Body.Length}\r\n");
        if (request.Expect)
            head.Append("Expect: 100-continue\r\n");
        head.Append("\r\n");
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        await stream.WriteAsync(Encoding.Latin1.GetBytes(head.ToString()), timeout.Token);
        if (request.Abort == AbortKind.MidBody)
        {
            await stream.WriteAsync(request.Body.AsMemory(0, request.Body.Length / 2), timeout.Token);
            await Task.Delay(100);
            client.Client.LingerState = new LingerOption(true, 0);
            return new ClientView("", "aborted", [], null);
        }
        await WriteBodyAsync(stream, request, timeout.Token);
        var received = new MemoryStream();
        var buffer = new byte[65536];
        while (true)
        {
            var read = await stream.ReadAsync(buffer, timeout.Token);
            if (read == 0)
                break;
            received.Write(buffer, 0, read);
            if (request.Abort == AbortKind.MidResponse && FinalHeadEnd(received.ToArray()) > 0)
            {
                client.Client.LingerState = new LingerOption(true, 0);
                var bytes = received.ToArray();
                var (interim, final) = SplitHeads(bytes);
                return new ClientView(interim, final, [], null);
            }
            if (request.KeepAlive && IsComplete(received.ToArray(), request.Method))
                break;
        }
        return Parse(received.ToArray());
    }

    private static async Task WriteBodyAsync(NetworkStream stream, GeneratedRequest request, CancellationToken cancellation)
    {
        if (request.BodyKind == BodyKind.None)
            return;
        var pieces = request.Slow ? 4 : 1;
        var size = (request.Body.Length + pieces - 1) / Math.Max(pieces, 1);
        for (var offset = 0; offset < request.Body.Length; offset += size)
        {
            var piece = request.Body.AsMemory(offset, Math.Min(size, request.Body.Length - offset));
            if (request.Chunked)
                await stream.WriteAsync(Encoding.ASCII.GetBytes($"{piece.Length:x}\r\n"), cancellation);
            await stream.WriteAsync(piece, cancellation);
            if (request.Chunked)
                await stream.WriteAsync("\r\n"u8.ToArray(), cancellation);
            if (request.Slow)
                await Task.Delay(30, cancellation);
        }
        if (request.Chunked)
            await stream.WriteAsync(Encoding.ASCII.GetBytes(request.RequestTrailers ? "0\r\nX-Checksum: abc\r\n\r\n" : "0\r\n\r\n"), cancellation);
    }

    /// <summary>Where the body of the final (non-1xx) response starts, or -1 while its head is incomplete.</summary>
    private static int FinalHeadEnd(byte[] bytes)
    {
        var position = 0;
        while (true)
        {
            var end = IndexOf(bytes, "\r\n\r\n"u8, position);
            if (end < 0)
                return -1;
            if (!IsInterim(bytes, position))
                return end + 4;
            position = end + 4;
        }
    }

    private static bool IsInterim(byte[] bytes, int at) => bytes.Length > at + 9 && bytes[at + 9] == (byte)'1';

    private static (string Interim, string Final) SplitHeads(byte[] bytes)
    {
        var interim = new StringBuilder();
        var position = 0;
        while (true)
        {
            var end = IndexOf(bytes, "\r\n\r\n"u8, position);
            var text = Encoding.Latin1.GetString(bytes, position, end - position);
            if (!IsInterim(bytes, position))
                return (interim.ToString(), text);
            interim.Append(text).Append("\r\n\r\n");
            position = end + 4;
        }
    }

    /// <summary>Whether a kept-alive answer has arrived whole, by its framing (Kestrel never ends one by closing).</summary>
    private static bool IsComplete(byte[] bytes, string method)
    {
        var bodyStart = FinalHeadEnd(bytes);
        if (bodyStart < 0)
            return false;
        var (_, final) = SplitHeads(bytes);
        var status = int.Parse(final.Split(' ', 3)[1]);
        if (method == "HEAD" || status is 204 or 304)
            return true;
        if (final.Contains("\r\nTransfer-Encoding: chunked", StringComparison.OrdinalIgnoreCase))
        {
            var at = bodyStart;
            while (true)
            {
                var lineEnd = IndexOf(bytes, "\r\n"u8, at);
                if (lineEnd < 0)
                    return false;
                var size = Convert.ToInt32(Encoding.ASCII.GetString(bytes, at, lineEnd - at).Split(';')[0], 16);
                if (size == 0)
                    return IndexOf(bytes, "\r\n\r\n"u8, lineEnd) >= 0;
                at = lineEnd + 2 + size + 2;
                if (at > bytes.Length)
                    return false;
            }
        }
        var length = final.Split("\r\n").FirstOrDefault(l => l.StartsWith("Content-Length:", StringComparison.OrdinalIgnoreCase));
        return length is null || bytes.Length - bodyStart >= long.Parse(length["Content-Length:".Length..]);
    }

    private static ClientView Parse(byte[] bytes)
    {
        var bodyStart = FinalHeadEnd(bytes);
        if (bodyStart < 0)
            return new ClientView("", "incomplete: " + Encoding.Latin1.GetString(bytes), [], null);
        var (interim, final) = SplitHeads(bytes);
        var body = bytes[bodyStart..];
        if (!final.Contains("\r\nTransfer-Encoding: chunked", StringComparison.OrdinalIgnoreCase))
            return new ClientView(interim, final, body, null);
        var plain = new MemoryStream();
        var at = 0;
        while (true)
        {
            var lineEnd = IndexOf(body, "\r\n"u8, at);
            if (lineEnd < 0)
                return new ClientView(interim, final, plain.ToArray(), "cut short");
            var size = Convert.ToInt32(Encoding.ASCII.GetString(body, at, lineEnd - at).Split(';')[0], 16);
            at = lineEnd + 2;
            if (size == 0)
                return new ClientView(interim, final, plain.ToArray(), Encoding.Latin1.GetString(body, at, body.Length - at));
            plain.Write(body, at, size);
            at += size + 2;
        }
    }

    private static int IndexOf(byte[] bytes, ReadOnlySpan<byte> value, int from)
    {
        var found = bytes.AsSpan(from).IndexOf(value);
        return found < 0 ? -1 : from + found;
    }
}

/// <summary>
/// The recording upstream: a <see cref="ScriptedUpstream"/> that answers each generated request as its
/// path asks (the response kind is the path's second segment) and lets the test look a request up by path.
/// </summary>
public sealed class DifferentialUpstream : IAsyncDisposable
{
    public const string ConnectionNamedHeader = "X-Up-Named";

    private static readonly byte[] LargeBody = Enumerable.Range(0, 1 << 20).Select(i => (byte)('a' + i % 26)).ToArray();

    private readonly ScriptedUpstream _upstream = new(AnswerAsync);

    public int Port => _upstream.Port;

    /// <summary>The request that arrived with this path, waiting up to <paramref name="wait"/> for it.</summary>
    public async Task<ScriptedRequest?> RequestForAsync(string path, TimeSpan wait)
    {
        var deadline = DateTime.UtcNow + wait;
        while (true)
        {
            var found = _upstream.Connections.SelectMany(c => c.Requests).FirstOrDefault(r => r.Path == path);
            if (found is not null || DateTime.UtcNow > deadline)
                return found;
            await Task.Delay(20);
        }
    }

    private static async Task<bool> AnswerAsync(ScriptedRequest request, Stream stream)
    {
        var segments = request.Path.Split('/');
        if (segments.Length < 4 || !Enum.TryParse<ResponseKind>(segments[2], out var kind))
        {
            await stream.WriteAsync("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"u8.ToArray());
            return true;
        }
        var head = request.Method == "HEAD";
        const string common = "Content-Type: text/plain\r\nX-Up-Dup: 1\r\nX-Up-Dup: 2\r\nx-uP-cAsE: v\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\n";
        switch (kind)
        {
            case ResponseKind.Length:
                return await WriteAsync(stream, $"HTTP/1.1 200 OK\r\n{common}Content-Length: 5\r\n\r\n", head ? "" : "hello");
            case ResponseKind.Chunked:
                await stream.WriteAsync(Encoding.ASCII.GetBytes($"HTTP/1.1 200 OK\r\n{common}Transfer-Encoding: chunked\r\n\r\n"));
                if (!head)
                    await stream.WriteAsync("3\r\nabc\r\n4;ext=1\r\ndefg\r\n0\r\nX-Up-Trailer: t\r\n\r\n"u8.ToArray());
                return true;
            case ResponseKind.CloseDelimited:
                await stream.WriteAsync(Encoding.ASCII.GetBytes($"HTTP/1.1 200 OK\r\n{common}Connection: close\r\n\r\n" + (head ? "" : "until the end")));
                return false;
            case ResponseKind.NoContent:
                return await WriteAsync(stream, $"HTTP/1.1 204 No Content\r\n{common}\r\n", "");
            case ResponseKind.NotModified:
                return await WriteAsync(stream, $"HTTP/1.1 304 Not Modified\r\nETag: \"v1\"\r\nCache-Control: max-age=5\r\n\r\n", "");
            case ResponseKind.Interim:
                await stream.WriteAsync("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n"u8.ToArray());
                return await WriteAsync(stream, $"HTTP/1.1 201 Created\r\n{common}Content-Length: 7\r\n\r\n", head ? "" : "created");
            case ResponseKind.Large:
                await stream.WriteAsync(Encoding.ASCII.GetBytes($"HTTP/1.1 200 OK\r\n{common}Content-Length: {LargeBody.Length}\r\n\r\n"));
                if (!head)
                    await stream.WriteAsync(LargeBody);
                return true;
            case ResponseKind.Slow:
                await stream.WriteAsync(Encoding.ASCII.GetBytes($"HTTP/1.1 200 OK\r\n{common}Transfer-Encoding: chunked\r\n\r\n"));
                if (head)
                    return true;
                for (var i = 0; i < 5; i++)
                {
                    await stream.WriteAsync(Encoding.ASCII.GetBytes($"5\r\ntick{i}\r\n"));
                    await Task.Delay(30);
                }
                await stream.WriteAsync("0\r\n\r\n"u8.ToArray());
                return true;
            case ResponseKind.Echo:
                return await WriteAsync(stream, $"HTTP/1.1 200 OK\r\n{common}Content-Length: {request.Body.Length}\r\n\r\n", head ? "" : request.BodyText);
            case ResponseKind.ConnectionNamed:
                return await WriteAsync(stream, $"HTTP/1.1 200 OK\r\n{common}Connection: {ConnectionNamedHeader}\r\n{ConnectionNamedHeader}: hop\r\nContent-Length: 2\r\n\r\n", head ? "" : "ok");
            default:
                throw new InvalidOperationException(kind.ToString());
        }
    }

    private static async Task<bool> WriteAsync(Stream stream, string head, string body)
    {
        await stream.WriteAsync(Encoding.Latin1.GetBytes(head + body));
        return true;
    }

    public ValueTask DisposeAsync() => _upstream.DisposeAsync();
}

/// <summary>Two nodes on one store, one per forwarder, each routing /diff to one <see cref="DifferentialUpstream"/>.</summary>
public abstract class DifferentialNodes(string store) : IAsyncLifetime
{
    private TestInstallation? _gantry;
    private GantryProcess? _auto;
    private GantryProcess? _yarp;

    public DifferentialUpstream Upstream { get; } = new();

    public string AutoProxy { get; private set; } = "";

    public string YarpProxy { get; private set; } = "";

    public async Task InitializeAsync()
    {
        _gantry = await TestInstallation.CreateAsync(store);
        _gantry.Environment["GANTRY_PROXY_FORWARDER"] = "auto";
        _auto = await StartAsync(_gantry);
        var other = SecondNode(_gantry);
        other["GANTRY_PROXY_FORWARDER"] = "yarp";
        // The second node has a prefix of its own; on SQLite it must still open the first node's file.
        if (!_gantry.IsPostgres)
            other["GANTRY_SQLITE_PATH"] = _gantry.SqlitePath;
        _yarp = GantryProcess.Start(other, "start");
        await _yarp.WaitForOutputAsync("started", TimeSpan.FromSeconds(60));
        AutoProxy = _gantry.Environment["GANTRY_PROXY_LISTEN"].Split(',')[0].Trim();
        YarpProxy = other["GANTRY_PROXY_LISTEN"].Split(',')[0].Trim();
        await CreateAsync(_gantry, "/services", new { name = "diff", url = $"http://127.0.0.1:{Upstream.Port}" });
        await CreateAsync(_gantry, "/services/diff/routes", new { name = "diff", paths = new[] { "/diff" }, strip_path = false });
        foreach (var proxy in new[] { AutoProxy, YarpProxy })
            Assert.Equal(HttpStatusCode.OK, (await UntilRoutedAsync($"http://{proxy}/diff/ready", TimeSpan.FromSeconds(20))).StatusCode);
    }

    public async Task DisposeAsync()
    {
        if (_yarp is not null)
            await _yarp.DisposeAsync();
        if (_auto is not null)
            await _auto.DisposeAsync();
        await Upstream.DisposeAsync();
        if (_gantry is not null)
            await _gantry.DisposeAsync();
    }
}

public sealed class SqliteDifferentialNodes() : DifferentialNodes("sqlite");

public sealed class PostgresDifferentialNodes() : DifferentialNodes("postgres");

public sealed class ForwarderDifferentialTestsSqlite(SqliteDifferentialNodes nodes, ITestOutputHelper output)
    : ForwarderDifferentialTests(nodes, output), IClassFixture<SqliteDifferentialNodes>;

public sealed class ForwarderDifferentialTestsPostgres(PostgresDifferentialNodes nodes, ITestOutputHelper output)
    : ForwarderDifferentialTests(nodes, output), IClassFixture<PostgresDifferentialNodes>;
