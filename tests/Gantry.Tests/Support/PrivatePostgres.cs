using System.Diagnostics;

namespace Gantry.Tests.Support;

/// <summary>
/// A PostgreSQL cluster of one test's own, created with initdb in a temporary folder (as bin/test
/// creates the suite's), for tests that stop and restart the database. As root, the cluster belongs
/// to the postgres user, since PostgreSQL refuses to run as root.
/// </summary>
public sealed class PrivatePostgres : IAsyncDisposable
{
    private readonly string _bin;
    private readonly string _folder;

    private PrivatePostgres(string bin, string folder, int port)
    {
        _bin = bin;
        _folder = folder;
        Port = port;
    }

    public int Port { get; }

    public string User => "gantry";

    private string DataDirectory => Path.Combine(_folder, "data");

    /// <summary>The GANTRY_PG_* settings that point a node at the database <c>gantry</c> of this cluster.</summary>
    public IReadOnlyDictionary<string, string> Environment => new Dictionary<string, string>
    {
        ["GANTRY_DATABASE"] = "postgres",
        ["GANTRY_PG_HOST"] = "127.0.0.1",
        ["GANTRY_PG_PORT"] = Port.ToString(),
        ["GANTRY_PG_USER"] = User,
        ["GANTRY_PG_DATABASE"] = "gantry",
    };

    public static async Task<PrivatePostgres> CreateAsync()
    {
        var bin = Directory.Exists("/usr/lib/postgresql")
            ? Directory.GetDirectories("/usr/lib/postgresql").Select(d => Path.Combine(d, "bin")).Where(d => File.Exists(Path.Combine(d, "initdb"))).Order().LastOrDefault()
            : null;
        bin ??= Path.GetDirectoryName(Which("initdb")) ?? throw new InvalidOperationException("initdb not found: install PostgreSQL (bin/test does)");
        var folder = Directory.CreateTempSubdirectory("gantry-test-private-pg-").FullName;
        if (IsRoot)
            await RunAsync("chown", "postgres", folder);
        var cluster = new PrivatePostgres(bin, folder, TestInstallation.FreePort());
        await cluster.PgAsync("initdb", "-D", cluster.DataDirectory, "-U", cluster.User, "--auth=trust", "--no-sync", "-E", "UTF8");
        await cluster.StartAsync();
        await cluster.PgAsync("createdb", "-h", "127.0.0.1", "-p", cluster.Port.ToString(), "-U", cluster.User, "gantry");
        return cluster;
    }

    public Task StartAsync() => PgAsync("pg_ctl", "-D", DataDirectory, "-l", Path.Combine(_folder, "postgres.log"), "-w", "-t", "120", "start",
        "-o", $"-p {Port} -k {_folder} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c max_connections=100");

    /// <summary>Stops the server as an operator would in a hurry (fast: sessions are disconnected, nothing is lost).</summary>
    public Task StopAsync() => PgAsync("pg_ctl", "-D", DataDirectory, "-m", "fast", "-w", "-t", "120", "stop");

    private static bool IsRoot => System.Environment.UserName == "root";

    private Task PgAsync(string tool, params string[] arguments)
    {
        var path = Path.Combine(_bin, tool);
        return IsRoot ? RunAsync("runuser", ["-u", "postgres", "--", path, .. arguments]) : RunAsync(path, arguments);
    }

    private static async Task RunAsync(string file, params string[] arguments)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in arguments)
            start.ArgumentList.Add(argument);
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        await process.WaitForExitAsync(timeout.Token);
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"{file} {string.Join(' ', arguments)} exited {process.ExitCode}: {await stdout}{await stderr}");
    }

    private static string? Which(string name) => (System.Environment.GetEnvironmentVariable("PATH") ?? "").Split(':')
        .Select(d => Path.Combine(d, name)).FirstOrDefault(File.Exists);

    public async ValueTask DisposeAsync()
    {
        try
        {
            await PgAsync("pg_ctl", "-D", DataDirectory, "-m", "immediate", "stop");
        }
        catch (InvalidOperationException)
        {
            // Already stopped.
        }
        try
        {
            Directory.Delete(_folder, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
