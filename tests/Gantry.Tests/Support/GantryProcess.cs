using System.Diagnostics;
using System.Text;

namespace Gantry.Tests.Support;

/// <summary>What a finished <c>bin/gantry</c> run printed and returned.</summary>
public sealed record CliResult(int ExitCode, string Stdout, string Stderr)
{
    public string All => Stdout + Stderr;

    public override string ToString() => $"exit {ExitCode}\n--- stdout ---\n{Stdout}\n--- stderr ---\n{Stderr}";
}

/// <summary>
/// Runs the repository's entry point, <c>bin/gantry</c>, as a process: the command line is what these
/// tests exercise. The environment given replaces GANTRY_* variables of the test process. An environment
/// that names a release to play (<see cref="TestHost.ReleaseVariable"/>) runs the test host instead, the
/// same command line playing that release; one that names the previous release's build
/// (<see cref="PreviousRelease.BuildVariable"/>) runs that build.
/// </summary>
public sealed class GantryProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _stdout = new();
    private readonly StringBuilder _stderr = new();
    private readonly object _gate = new();

    private GantryProcess(Process process)
    {
        _process = process;
    }

    public static string Executable => RepositoryFiles.PathOf("bin/gantry");

    public int Pid => _process.Id;

    public bool HasExited => _process.HasExited;

    public string Stdout
    {
        get
        {
            lock (_gate)
                return _stdout.ToString();
        }
    }

    public string Stderr
    {
        get
        {
            lock (_gate)
                return _stderr.ToString();
        }
    }

    public static async Task<CliResult> RunAsync(IReadOnlyDictionary<string, string> environment, params string[] arguments)
    {
        await using var process = Start(environment, arguments);
        return await process.WaitAsync(TimeSpan.FromMinutes(2));
    }

    /// <summary>Runs in <paramref name="workingDirectory"/>, for commands that write into the current folder.</summary>
    public static async Task<CliResult> RunInAsync(string workingDirectory, IReadOnlyDictionary<string, string> environment, params string[] arguments)
    {
        await using var process = Start(environment, arguments, workingDirectory);
        return await process.WaitAsync(TimeSpan.FromMinutes(2));
    }

    public static GantryProcess Start(IReadOnlyDictionary<string, string> environment, params string[] arguments) =>
        Start(environment, arguments, workingDirectory: null);

    private static GantryProcess Start(IReadOnlyDictionary<string, string> environment, string[] arguments, string? workingDirectory)
    {
        ProcessStartInfo start;
        if (environment.TryGetValue(PreviousRelease.BuildVariable, out var previous))
        {
            start = new ProcessStartInfo("dotnet");
            start.ArgumentList.Add(previous);
        }
        else
        {
            start = environment.ContainsKey(TestHost.ReleaseVariable) ? TestHost.StartInfo() : new ProcessStartInfo(Executable);
        }
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        start.RedirectStandardInput = true;
        start.UseShellExecute = false;
        if (workingDirectory is not null)
            start.WorkingDirectory = workingDirectory;
        foreach (var argument in arguments)
            start.ArgumentList.Add(argument);
        // The runtime's inline completions too: a node run inside the test process (proxy_inline_io is on by
        // default) sets that variable in this process, and a child must take it from its own configuration.
        foreach (var key in start.Environment.Keys.Where(k => k.StartsWith("GANTRY_", StringComparison.Ordinal) || k == "DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS").ToList())
            start.Environment.Remove(key);
        foreach (var (key, value) in environment.Where(e => e.Key != PreviousRelease.BuildVariable))
            start.Environment[key] = value;
        var process = new Process { StartInfo = start };
        var wrapper = new GantryProcess(process);
        process.OutputDataReceived += (_, e) => wrapper.Append(wrapper._stdout, e.Data);
        process.ErrorDataReceived += (_, e) => wrapper.Append(wrapper._stderr, e.Data);
        process.Start();
        process.StandardInput.Close();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return wrapper;
    }

    public async Task<CliResult> WaitAsync(TimeSpan timeout)
    {
        using var cancel = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cancel.Token);
        }
        catch (OperationCanceledException)
        {
            _process.Kill(entireProcessTree: true);
            throw new TimeoutException($"gantry did not exit within {timeout}:\nstdout: {Stdout}\nstderr: {Stderr}");
        }
        // The parameterless wait drains the redirected streams.
        _process.WaitForExit();
        return new CliResult(_process.ExitCode, Stdout, Stderr);
    }

    /// <summary>Waits until the process has printed <paramref name="text"/> on stdout.</summary>
    public async Task WaitForOutputAsync(string text, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (!Stdout.Contains(text, StringComparison.Ordinal))
        {
            if (_process.HasExited)
            {
                _process.WaitForExit();
                if (Stdout.Contains(text, StringComparison.Ordinal))
                    return;
                throw new InvalidOperationException($"gantry exited ({_process.ExitCode}) before printing '{text}':\nstdout: {Stdout}\nstderr: {Stderr}");
            }
            if (clock.Elapsed > timeout)
                throw new TimeoutException($"gantry did not print '{text}' within {timeout}:\nstdout: {Stdout}\nstderr: {Stderr}");
            await Task.Delay(20);
        }
    }

    /// <summary>SIGKILL: no cleanup code of the process runs.</summary>
    public void KillHard() => _process.Kill(entireProcessTree: false);

    private void Append(StringBuilder buffer, string? line)
    {
        if (line is null)
            return;
        lock (_gate)
            buffer.AppendLine(line);
    }

    private bool _disposed;

    /// <summary>Kills the process if it still runs; a second call (a test that stops a node early) does nothing.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_disposed)
            return;
        _disposed = true;
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
    }
}
