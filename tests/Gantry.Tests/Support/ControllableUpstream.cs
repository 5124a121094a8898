using System.Collections.Concurrent;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;

namespace Gantry.Tests.Support;

/// <summary>
/// A real HTTP server on loopback that tests can steer: it answers every request with <see cref="Status"/>
/// and a JSON body naming its port, and can stop listening (connections refused) and listen again on the
/// same port. It counts requests per path and keeps the headers of the last request to each path.
/// </summary>
public sealed class ControllableUpstream : IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, int> _hits = new();
    private readonly ConcurrentDictionary<string, WebHeaderCollection> _lastHeaders = new();
    private HttpListener? _listener;
    private Task _loop = Task.CompletedTask;
    private volatile int _status = 200;

    public ControllableUpstream()
    {
        Port = TestInstallation.FreePort();
        Listen();
    }

    public int Port { get; }

    /// <summary>The target address of this upstream, as an Admin API target.</summary>
    public string Address => $"127.0.0.1:{Port}";

    /// <summary>The status every request gets from now on.</summary>
    public int Status
    {
        get => _status;
        set => _status = value;
    }

    /// <summary>How long every answer is held back from now on.</summary>
    public TimeSpan Delay { get; set; }

    public int Hits(string path) => _hits.GetValueOrDefault(path);

    public WebHeaderCollection? LastHeaders(string path) => _lastHeaders.GetValueOrDefault(path);

    /// <summary>Closes the listening socket: new connections are refused until <see cref="Listen"/>.</summary>
    public async Task StopListeningAsync()
    {
        var listener = _listener;
        _listener = null;
        if (listener is null)
            return;
        listener.Stop();
        try
        {
            listener.Close();
        }
        catch (HttpListenerException)
        {
            // The managed listener looks its endpoints up again while closing and can trip over a port
            // another test took meanwhile; it has stopped listening by then, which is all that matters.
        }
        await _loop.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }

    public void Listen()
    {
        if (_listener is not null)
            return;
        var listener = new HttpListener();
        listener.Prefixes.Add($"http://127.0.0.1:{Port}/");
        // HttpListener routes by the Host header: a target named localhost arrives with Host: localhost.
        listener.Prefixes.Add($"http://localhost:{Port}/");
        listener.Start();
        _listener = listener;
        _loop = Task.Run(() => LoopAsync(listener));
    }

    private async Task LoopAsync(HttpListener listener)
    {
        while (listener.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await listener.GetContextAsync();
            }
            catch (Exception) when (!listener.IsListening)
            {
                return;
            }
            catch (ObjectDisposedException)
            {
                return;
            }
            var path = context.Request.Url!.AbsolutePath;
            _hits.AddOrUpdate(path, 1, (_, n) => n + 1);
            var headers = new WebHeaderCollection();
            foreach (var name in context.Request.Headers.AllKeys)
                headers[name!] = context.Request.Headers[name];
            _lastHeaders[path] = headers;
            if (Delay > TimeSpan.Zero)
                await Task.Delay(Delay);
            var body = Encoding.UTF8.GetBytes(new JsonObject
            {
                ["port"] = Port,
                ["path"] = context.Request.RawUrl,
                ["host"] = context.Request.Headers["Host"],
            }.ToJsonString());
            try
            {
                context.Response.StatusCode = _status;
                context.Response.ContentType = "application/json";
                await context.Response.OutputStream.WriteAsync(body);
                context.Response.Close();
            }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or IOException)
            {
                // The client (or a stop) closed the connection mid-answer.
            }
        }
    }

    public async ValueTask DisposeAsync() => await StopListeningAsync();
}
