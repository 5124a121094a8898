using System.Collections.Concurrent;
using System.Threading.Channels;
using Gantry.Node;

namespace Gantry.Plugins.FileLog;

/// <summary>One writer per log file for the whole node, so that instances sharing a file append whole lines in turn.</summary>
public sealed class LogFiles : IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, LogFileWriter> _writers = new(StringComparer.Ordinal);

    public LogFileWriter For(string path, ILogger logger) => _writers.GetOrAdd(Path.GetFullPath(path), full => new LogFileWriter(full, logger));

    public async ValueTask DisposeAsync()
    {
        await Task.WhenAll(_writers.Values.Select(w => w.DisposeAsync().AsTask()));
        _writers.Clear();
    }
}

/// <summary>
/// Appends lines to one file from a background task: a bounded queue between the requests and the disk
/// (full: the line is dropped and logged), the file kept open between lines unless an instance asks to
/// reopen it (so that a rotated file is followed), created when missing.
/// </summary>
public sealed class LogFileWriter : IAsyncDisposable
{
    private static readonly byte[] NewLine = "\n"u8.ToArray();
    private readonly Channel<(byte[] Line, bool Reopen)> _lines = Channel.CreateBounded<(byte[], bool)>(new BoundedChannelOptions(10000) { SingleReader = true });
    private readonly string _path;
    private readonly ILogger _logger;
    private readonly Task _loop;
    private long _lastComplaint;

    public LogFileWriter(string path, ILogger logger)
    {
        _path = path;
        _logger = logger;
        _loop = InlineIo.RunOffSocketThreads(LoopAsync);
    }

    public void Offer(byte[] line, bool reopen)
    {
        if (!_lines.Writer.TryWrite((line, reopen)))
            Complain("the write queue is full (10000 lines); a line was dropped");
    }

    private void Complain(string what)
    {
        var now = Environment.TickCount64;
        if (now - Interlocked.Read(ref _lastComplaint) < 1000)
            return;
        Interlocked.Exchange(ref _lastComplaint, now);
        _logger.LogWarning("file-log {Path}: {What}", _path, what);
    }

    private async Task LoopAsync()
    {
        FileStream? file = null;
        var reader = _lines.Reader;
        try
        {
            while (await reader.WaitToReadAsync())
            {
                var reopen = false;
                try
                {
                    file ??= Open();
                    while (reader.TryRead(out var item))
                    {
                        await file.WriteAsync(item.Line);
                        await file.WriteAsync(NewLine);
                        reopen |= item.Reopen;
                    }
                    await file.FlushAsync();
                }
                catch (Exception error) when (error is IOException or UnauthorizedAccessException)
                {
                    Complain($"cannot write: {error.Message}");
                    reopen = true;
                    while (reader.TryRead(out _))
                    {
                    }
                }
                if (reopen && file is not null)
                {
                    await file.DisposeAsync();
                    file = null;
                }
            }
        }
        finally
        {
            if (file is not null)
                await file.DisposeAsync();
        }
    }

    private FileStream Open() =>
        new(_path, new FileStreamOptions { Mode = FileMode.Append, Access = FileAccess.Write, Share = FileShare.ReadWrite | FileShare.Delete, Options = FileOptions.Asynchronous });

    public async ValueTask DisposeAsync()
    {
        _lines.Writer.TryComplete();
        await _loop.WaitAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }
}
