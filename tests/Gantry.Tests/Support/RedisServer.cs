using System.Diagnostics;
using System.Net.Sockets;

namespace Gantry.Tests.Support;

/// <summary>
/// A redis-server of one test's own on a free loopback port, in a temporary folder, with nothing saved to
/// disk (bin/test installs redis-server). Stopping it lets a test see what the gateway does without Redis.
/// </summary>
public sealed class RedisServer : IAsyncDisposable
{
    private readonly string _folder;
    private Process? _process;

    private RedisServer(string folder, int port)
    {
        _folder = folder;
        Port = port;
    }

    public int Port { get; }

    public static async Task<RedisServer> StartAsync()
    {
        var server = new RedisServer(Directory.CreateTempSubdirectory("gantry-test-redis-").FullName, TestInstallation.FreePort());
        server._process = Process.Start(new ProcessStartInfo("redis-server")
        {
            ArgumentList = { "--port", server.Port.ToString(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--daemonize", "no", "--dir", server._folder },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        }) ?? throw new InvalidOperationException("redis-server did not start: install it (bin/test does)");
        server._process.OutputDataReceived += (_, _) => { };
        server._process.ErrorDataReceived += (_, _) => { };
        server._process.BeginOutputReadLine();
        server._process.BeginErrorReadLine();
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync("127.0.0.1", server.Port);
                return server;
            }
            catch (SocketException) when (deadline.Elapsed < TimeSpan.FromSeconds(20) && !server._process.HasExited)
            {
                await Task.Delay(50);
            }
        }
    }

    /// <summary>Kills the server: clients see their connections drop and new ones refused.</summary>
    public async Task StopAsync()
    {
        if (_process is { HasExited: false })
        {
            _process.Kill();
            await _process.WaitForExitAsync();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        _process?.Dispose();
        try { Directory.Delete(_folder, recursive: true); } catch (IOException) { }
    }
}
