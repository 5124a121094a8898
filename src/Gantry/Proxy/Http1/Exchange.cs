using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Primitives;
using Microsoft.Net.Http.Headers;
using Yarp.ReverseProxy.Forwarder;

namespace Gantry.Proxy.Http1;

/// <summary>How a body copy ended, in the terms YARP's forwarder reports them.</summary>
internal enum CopyResult
{
    Success,
    /// <summary>Reading failed: the client's request body, or the upstream's response body.</summary>
    InputError,
    /// <summary>Writing failed: to the upstream, or to the client.</summary>
    OutputError,
    Canceled,
}

/// <summary>
/// One request and its response over one upstream connection: the head written, the body streamed
/// beside the response (so an upstream may answer before it has read all of it), the response head
/// parsed strictly, handed to the transformer, and the body streamed to the client with a flush after
/// every read. Says at the end whether the connection is fit for another request.
/// </summary>
internal sealed class Exchange(HttpContext http, Http1Connection connection, UpstreamTimeouts timeouts, RequestHead request)
{
    private const int BodyBufferBytes = 16384;

    /// <summary>The longest chunk-size or trailer line accepted: far above any honest chunk extension.</summary>
    private const int MaxFramingLine = 8192;

    private Task<(CopyResult, Exception?)>? _body;
    private CancellationTokenSource? _bodyCancel;
    private volatile bool _bodyFailed;

    public async ValueTask<(ForwarderError Error, bool Reusable)> RunAsync(UpstreamTransformer transformer, bool hasBody)
    {
        connection.Begin(http.RequestAborted);
        var length = request.ContentLength;
        var chunked = hasBody && length < 0;
        try
        {
            request.Write(connection.Writer, chunked);
            await connection.FlushAsync(timeouts.WriteMs);
        }
        catch (Exception e)
        {
            return (await FailBeforeResponseAsync(transformer, e, bodyTried: false), false);
        }
        if (hasBody)
        {
            _bodyCancel = CancellationTokenSource.CreateLinkedTokenSource(http.RequestAborted);
            _body = CopyRequestBodyAsync(chunked, length, _bodyCancel.Token);
        }
        else
        {
            // read_timeout runs from the end of the request, as nginx's proxy_read_timeout does.
            connection.ArmRead(timeouts.ReadMs);
        }
        try
        {
            return await ExchangeAsync(transformer);
        }
        finally
        {
            _bodyCancel?.Dispose();
        }
    }

    private async ValueTask<(ForwarderError, bool)> ExchangeAsync(UpstreamTransformer transformer)
    {
        ResponseHead head;
        try
        {
            head = await ReadHeadAsync();
        }
        catch (Exception e)
        {
            // A body that broke off closed the connection to end the wait for an answer: its failure is the cause.
            if (_bodyFailed)
                await _body!;
            var bodyTried = _body?.IsCompleted == true;
            connection.Dispose();
            return (await FailBeforeResponseAsync(transformer, e, bodyTried), false);
        }
        http.Response.StatusCode = head.Status;
        if (head.Reason != Microsoft.AspNetCore.WebUtilities.ReasonPhrases.GetReasonPhrase(head.Status))
            http.Features.Get<IHttpResponseFeature>()!.ReasonPhrase = head.Reason;
        try
        {
            CopyFields(head.Headers, http.Response.Headers, head.ConnectionNames);
            transformer.ResponseHeadersCopied(http, head.Status);
        }
        catch (Exception e)
        {
            await StopBodyAsync();
            http.Features.Set<IForwarderErrorFeature>(new ForwarderErrorFeature(ForwarderError.ResponseHeaders, e));
            http.Response.Clear();
            http.Response.StatusCode = StatusCodes.Status502BadGateway;
            return (ForwarderError.ResponseHeaders, false);
        }
        var bodyless = request.Method == "HEAD" || head.Status is 204 or 304;
        var (result, exception, framed) = bodyless ? (CopyResult.Success, null, true) : await CopyResponseBodyAsync(head);
        if (result != CopyResult.Success)
        {
            connection.Dispose();
            await StopBodyAsync();
            var error = result switch
            {
                CopyResult.InputError => ForwarderError.ResponseBodyDestination,
                CopyResult.OutputError => ForwarderError.ResponseBodyClient,
                _ => ForwarderError.ResponseBodyCanceled,
            };
            http.Features.Set<IForwarderErrorFeature>(new ForwarderErrorFeature(error, exception));
            if (!http.Response.HasStarted)
            {
                http.Response.Clear();
                http.Response.StatusCode = StatusCodes.Status502BadGateway;
            }
            else
            {
                // The client must not take a cut-short body for a whole one.
                http.Abort();
            }
            return (error, false);
        }
        var reusable = head.KeepAlive && framed && NothingMoreBuffered();
        if (_body is not null)
        {
            if (!_body.IsCompleted)
            {
                // The upstream answered before it had the whole body: the connection is mid-request and cannot be reused.
                reusable = false;
                connection.Dispose();
                _bodyCancel!.Cancel();
            }
            var (bodyResult, bodyException) = await _body;
            if (bodyResult != CopyResult.Success)
            {
                var error = bodyResult switch
                {
                    CopyResult.InputError => ForwarderError.RequestBodyClient,
                    CopyResult.OutputError => ForwarderError.RequestBodyDestination,
                    _ => ForwarderError.RequestBodyCanceled,
                };
                // The answer was whole; only a body the upstream did not wait for was cut.
                if (reusable || error != ForwarderError.RequestBodyCanceled)
                {
                    http.Features.Set<IForwarderErrorFeature>(new ForwarderErrorFeature(error, bodyException));
                    return (error, false);
                }
            }
        }
        return (ForwarderError.None, reusable);
    }

    /// <summary>Reports a try that got no response head, with YARP's error for each cause (see HttpForwarder.HandleRequestFailureAsync).</summary>
    private async ValueTask<ForwarderError> FailBeforeResponseAsync(UpstreamTransformer transformer, Exception exception, bool bodyTried)
    {
        connection.Dispose();
        var expiry = connection.Expiry;
        var (bodyResult, bodyException) = _body is { IsCompleted: true } ? _body.Result : (CopyResult.Success, null);
        await StopBodyAsync();
        if (http.RequestAborted.IsCancellationRequested || expiry == ConnectionExpiry.ClientGone)
        {
            var canceled = bodyTried && bodyResult == CopyResult.Canceled;
            return await Http1Forwarder.FailAsync(http, transformer, canceled ? ForwarderError.RequestBodyCanceled : ForwarderError.RequestCanceled,
                StatusCodes.Status400BadRequest, canceled ? new AggregateException(exception, bodyException!) : exception);
        }
        if (bodyTried && bodyResult is CopyResult.InputError)
        {
            var status = bodyException is BadHttpRequestException bad ? bad.StatusCode : StatusCodes.Status400BadRequest;
            return await Http1Forwarder.FailAsync(http, transformer, ForwarderError.RequestBodyClient, status, new AggregateException(bodyException!, exception));
        }
        if (bodyTried && bodyResult is CopyResult.OutputError)
        {
            var status = expiry is ConnectionExpiry.Write or ConnectionExpiry.Read ? StatusCodes.Status504GatewayTimeout : StatusCodes.Status502BadGateway;
            return await Http1Forwarder.FailAsync(http, transformer, ForwarderError.RequestBodyDestination, status, new AggregateException(bodyException!, exception));
        }
        if (expiry is ConnectionExpiry.Read or ConnectionExpiry.Write)
        {
            // A cancellation without a TimeoutException inside: the retry logic tells it from a connect timeout that way.
            var which = expiry == ConnectionExpiry.Read ? $"read_timeout ({timeouts.ReadMs} ms)" : $"write_timeout ({timeouts.WriteMs} ms)";
            return await Http1Forwarder.FailAsync(http, transformer, ForwarderError.RequestTimedOut, StatusCodes.Status504GatewayTimeout,
                new TaskCanceledException($"the upstream did not answer within {which}", exception));
        }
        return await Http1Forwarder.FailAsync(http, transformer, ForwarderError.Request, StatusCodes.Status502BadGateway, exception);
    }

    /// <summary>Stops streaming the request body (if it still runs) and waits for it to let go of the request.</summary>
    private async ValueTask StopBodyAsync()
    {
        if (_body is null)
            return;
        if (!_body.IsCompleted)
        {
            connection.Dispose();
            _bodyCancel!.Cancel();
        }
        await _body;
    }

    /// <summary>The response head, after any 1xx interim responses (skipped, as HttpClient skips them).</summary>
    private async ValueTask<ResponseHead> ReadHeadAsync()
    {
        var reader = connection.Reader;
        var received = false;
        while (true)
        {
            var read = await connection.ReadAsync();
            var buffer = read.Buffer;
            received |= !buffer.IsEmpty;
            ResponseHead? head;
            var consumed = buffer.IsSingleSegment
                ? ResponseHead.TryParse(buffer.FirstSpan, out head)
                : ResponseHead.TryParse(buffer.Slice(0, Math.Min(buffer.Length, ResponseHead.MaxHeadBytes + 1)).ToArray(), out head);
            if (head is null)
            {
                if (read.IsCompleted)
                {
                    throw received
                        ? ResponseHead.Invalid("the connection closed inside its head")
                        : new HttpRequestException(HttpRequestError.ResponseEnded, "the upstream closed the connection without answering");
                }
                reader.AdvanceTo(buffer.Start, buffer.End);
                continue;
            }
            reader.AdvanceTo(buffer.GetPosition(consumed));
            if (head.Status >= 200)
                return head;
            // 101 is only an answer to an upgrade, and upgrades never come this way.
            if (head.Status == 101)
                throw ResponseHead.Invalid("it switches protocols though no upgrade was asked");
            connection.ArmRead(timeouts.ReadMs);
        }
    }

    /// <summary>
    /// The upstream's header (or trailer) fields onto the client's response as they came, one value per line
    /// received, less those YARP's forwarder never copies and those the upstream's Connection header names.
    /// Appended, not replaced, as YARP's copy does: a field Kestrel or Gantry set before stays.
    /// </summary>
    private static void CopyFields(List<KeyValuePair<string, string>> fields, IHeaderDictionary destination, List<string>? connectionNames)
    {
        foreach (var (name, value) in fields)
        {
            if (RequestHead.IsNeverCopied(name) || connectionNames?.Contains(name, StringComparer.OrdinalIgnoreCase) == true)
                continue;
            destination[name] = StringValues.Concat(destination[name], value);
        }
    }

    /// <summary>Whether the upstream sent nothing past the response: anything more would be read as the next answer.</summary>
    private bool NothingMoreBuffered()
    {
        if (!connection.Reader.TryRead(out var extra))
            return true;
        var clean = extra.Buffer.IsEmpty && !extra.IsCompleted;
        connection.Reader.AdvanceTo(extra.Buffer.Start);
        return clean;
    }

    private async Task<(CopyResult, Exception?)> CopyRequestBodyAsync(bool chunked, long length, CancellationToken cancellation)
    {
        var result = await StreamRequestBodyAsync(chunked, length, cancellation);
        if (result.Item1 != CopyResult.Success)
        {
            // The upstream has half a request and will wait for the rest: end the exchange rather than wait for read_timeout.
            _bodyFailed = true;
            connection.Dispose();
        }
        return result;
    }

    private async Task<(CopyResult, Exception?)> StreamRequestBodyAsync(bool chunked, long length, CancellationToken cancellation)
    {
        // Off the caller's stack, so that reading the response head starts at once.
        await Task.Yield();
        var buffer = ArrayPool<byte>.Shared.Rent(BodyBufferBytes);
        var writer = connection.Writer;
        long sent = 0;
        try
        {
            while (true)
            {
                int read;
                try
                {
                    read = await http.Request.Body.ReadAsync(buffer.AsMemory(0, BodyBufferBytes), cancellation);
                }
                catch (Exception e)
                {
                    return (cancellation.IsCancellationRequested ? CopyResult.Canceled : CopyResult.InputError, e);
                }
                if (read == 0)
                    break;
                sent += read;
                if (length >= 0 && sent > length)
                    return (CopyResult.OutputError, new HttpRequestException($"the request body is longer than its Content-Length of {length}"));
                try
                {
                    if (chunked)
                        WriteChunkSize(writer, read);
                    writer.Write(buffer.AsSpan(0, read));
                    if (chunked)
                        writer.Write("\r\n"u8);
                    await connection.FlushAsync(timeouts.WriteMs, cancellation);
                }
                catch (Exception e)
                {
                    return (cancellation.IsCancellationRequested ? CopyResult.Canceled : CopyResult.OutputError, e);
                }
            }
            if (length >= 0 && sent < length)
                return (CopyResult.InputError, new HttpRequestException($"the request body ended after {sent} of its {length} bytes"));
            try
            {
                if (chunked)
                {
                    writer.Write("0\r\n"u8);
                    if (http.Features.Get<IHttpRequestTrailersFeature>() is { Available: true } trailers)
                        RequestHead.WriteFields(writer, trailers.Trailers);
                    writer.Write("\r\n"u8);
                    await connection.FlushAsync(timeouts.WriteMs, cancellation);
                }
            }
            catch (Exception e)
            {
                return (cancellation.IsCancellationRequested ? CopyResult.Canceled : CopyResult.OutputError, e);
            }
            connection.ArmRead(timeouts.ReadMs);
            return (CopyResult.Success, null);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static void WriteChunkSize(PipeWriter writer, int size)
    {
        var span = writer.GetSpan(10);
        size.TryFormat(span, out var written, "x");
        span[written++] = (byte)'\r';
        span[written++] = (byte)'\n';
        writer.Advance(written);
    }

    /// <summary>Streams the response body to the client; says whether it ended where its framing said (so the connection can go on).</summary>
    private async ValueTask<(CopyResult, Exception?, bool Framed)> CopyResponseBodyAsync(ResponseHead head)
    {
        var body = http.Response.Body;
        try
        {
            if (head.Chunked)
            {
                await CopyChunkedAsync(body);
                return (CopyResult.Success, null, true);
            }
            if (head.ContentLength >= 0)
            {
                await CopyLengthAsync(body, head.ContentLength);
                return (CopyResult.Success, null, true);
            }
            await CopyToCloseAsync(body);
            return (CopyResult.Success, null, false);
        }
        catch (ClientWriteException e)
        {
            return (http.RequestAborted.IsCancellationRequested ? CopyResult.Canceled : CopyResult.OutputError, e.InnerException, false);
        }
        catch (Exception e)
        {
            // A read timeout mid-body is a cancellation to YARP's forwarder too (its activity timeout).
            var canceled = http.RequestAborted.IsCancellationRequested || connection.Expiry is ConnectionExpiry.ClientGone or ConnectionExpiry.Read;
            return (canceled ? CopyResult.Canceled : CopyResult.InputError, e, false);
        }
    }

    private async ValueTask<ReadResult> ReadUpstreamAsync()
    {
        connection.ArmRead(timeouts.ReadMs);
        var read = await connection.Reader.ReadAsync();
        // Waiting for the client is not the upstream's delay.
        connection.DisarmRead();
        return read;
    }

    private async ValueTask CopyLengthAsync(Stream body, long remaining)
    {
        var reader = connection.Reader;
        while (remaining > 0)
        {
            var read = await ReadUpstreamAsync();
            var buffer = read.Buffer;
            if (buffer.IsEmpty && read.IsCompleted)
                throw new HttpRequestException(HttpRequestError.ResponseEnded, $"the upstream closed the connection {remaining} bytes before the end of the body");
            var part = buffer.Slice(0, Math.Min(remaining, buffer.Length));
            await WriteToClientAsync(body, part);
            remaining -= part.Length;
            reader.AdvanceTo(part.End);
        }
    }

    private async ValueTask CopyToCloseAsync(Stream body)
    {
        var reader = connection.Reader;
        while (true)
        {
            var read = await ReadUpstreamAsync();
            var buffer = read.Buffer;
            if (!buffer.IsEmpty)
                await WriteToClientAsync(body, buffer);
            reader.AdvanceTo(buffer.End);
            if (read.IsCompleted)
                return;
        }
    }

    private async ValueTask CopyChunkedAsync(Stream body)
    {
        var reader = connection.Reader;
        while (true)
        {
            var size = ResponseHead.ParseChunkSize(await ReadLineAsync());
            if (size == 0)
                break;
            var remaining = size;
            while (remaining > 0)
            {
                var read = await ReadUpstreamAsync();
                var buffer = read.Buffer;
                if (buffer.IsEmpty && read.IsCompleted)
                    throw new HttpRequestException(HttpRequestError.ResponseEnded, "the upstream closed the connection inside a chunk");
                var part = buffer.Slice(0, Math.Min(remaining, buffer.Length));
                await WriteToClientAsync(body, part);
                remaining -= part.Length;
                reader.AdvanceTo(part.End);
            }
            if ((await ReadLineAsync()).Length != 0)
                throw ResponseHead.Invalid("a chunk is longer than its size");
        }
        List<KeyValuePair<string, string>>? trailers = null;
        while (true)
        {
            var line = await ReadLineAsync();
            if (line.Length == 0)
                break;
            (trailers ??= []).Add(ResponseHead.ParseTrailer(line));
        }
        // To the client's trailers when its response can carry them, as YARP's forwarder copies them.
        if (trailers is not null && http.Features.Get<IHttpResponseTrailersFeature>()?.Trailers is { IsReadOnly: false } outgoing)
            CopyFields(trailers, outgoing, connectionNames: null);
    }

    /// <summary>One CRLF-ended line of chunked framing, without its CRLF.</summary>
    private async ValueTask<byte[]> ReadLineAsync()
    {
        var reader = connection.Reader;
        while (true)
        {
            var read = await ReadUpstreamAsync();
            var buffer = read.Buffer;
            var lf = buffer.PositionOf((byte)'\n');
            if (lf is { } end)
            {
                var withLf = buffer.Slice(0, buffer.GetPosition(1, end)).ToArray();
                reader.AdvanceTo(buffer.GetPosition(1, end));
                return ResponseHead.FramingLine(withLf, withLf.Length - 1).ToArray();
            }
            if (buffer.Length > MaxFramingLine)
                throw ResponseHead.Invalid($"a chunk-size or trailer line is over {MaxFramingLine} bytes");
            if (read.IsCompleted)
                throw new HttpRequestException(HttpRequestError.ResponseEnded, "the upstream closed the connection inside the chunked body");
            reader.AdvanceTo(buffer.Start, buffer.End);
        }
    }

    /// <summary>
    /// Writes what came from the upstream and flushes it: Kestrel holds a body written after its headers
    /// went out until it is asked to flush, and a streamed answer must reach the client as it comes.
    /// </summary>
    private static async ValueTask WriteToClientAsync(Stream body, ReadOnlySequence<byte> data)
    {
        try
        {
            foreach (var segment in data)
                await body.WriteAsync(segment);
            await body.FlushAsync();
        }
        catch (Exception e)
        {
            throw new ClientWriteException(e);
        }
    }

    private sealed class ClientWriteException(Exception inner) : Exception("writing to the client failed", inner);
}
