using System.Net;

namespace Gantry.Tests.Support;

/// <summary>
/// A real HTTP server on a free loopback port: the listener and its accept loop, shared by the test
/// upstreams, which only say how they answer a request.
/// </summary>
public abstract class LoopbackServer : IAsyncDisposable
{
    private readonly HttpListener _listener = new();
    private readonly Task _loop;

    /// <param name="concurrent">Answer requests side by side; otherwise one after another, in arrival order.</param>
    protected LoopbackServer(bool concurrent)
    {
        Port = TestInstallation.FreePort();
        _listener.Prefixes.Add($"http://127.0.0.1:{Port}/");
        _listener.Start();
        _loop = Task.Run(() => LoopAsync(concurrent));
    }

    public int Port { get; }

    protected abstract Task HandleAsync(HttpListenerContext context);

    private async Task LoopAsync(bool concurrent)
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
            if (concurrent)
                _ = Task.Run(() => HandleAsync(context));
            else
                await HandleAsync(context);
        }
    }

    public async ValueTask DisposeAsync()
    {
        // Close alone: after Stop, the managed listener's Close looks the port up again and can try to bind it anew,
        // which fails with "Address already in use" once another socket holds it.
        _listener.Close();
        await _loop.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        GC.SuppressFinalize(this);
    }
}
