using System.Text.Json;
using Gantry.Node;

namespace Gantry.Clustering;

/// <summary>
/// The data plane's copy of the last configuration it applied, <c>&lt;prefix&gt;/hybrid-config.json</c>, which
/// a data plane started while its control plane is unreachable serves. Written beside and renamed over the
/// old one (a crash leaves one or the other whole), readable by the node's user only since it holds
/// credentials and private keys. A stream of deltas is folded into few writes: the next write waits at
/// least <c>interval</c> (a second) and at least <see cref="CostFactor"/> times as long as the last write
/// took, so that rewriting a large configuration (tens of megabytes with 100,000 consumers) takes a tenth
/// of a core at most, whatever its size, rather than a whole one.
/// </summary>
public sealed class HybridCache(string path, ILogger logger, TimeSpan? interval = null) : IAsyncDisposable
{
    public const string FileName = "hybrid-config.json";

    /// <summary>How many times the last write's duration the next one waits at least.</summary>
    public const int CostFactor = 10;

    private readonly TimeSpan _interval = interval ?? TimeSpan.FromSeconds(1);
    private readonly object _gate = new();
    private Func<(long Version, string Hash, List<WireEntity> Entities)>? _pending;
    private Task _writer = Task.CompletedTask;
    private DateTime _lastWrite = DateTime.MinValue;
    private TimeSpan _lastCost = TimeSpan.Zero;
    private long _writes;

    public string Path => path;

    /// <summary>Writes done so far (each a whole file).</summary>
    public long Writes => Interlocked.Read(ref _writes);

    /// <summary>How long after the last write the next one may start, given what the last one cost.</summary>
    public TimeSpan Spacing => Max(_interval, _lastCost * CostFactor);

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;

    /// <summary>The cached configuration, or null when there is none or it cannot be read (said in the log).</summary>
    public (long Version, string Hash, List<(string Type, string Json)> Entities)? Read()
    {
        if (!File.Exists(path))
            return null;
        try
        {
            using var document = JsonDocument.Parse(File.ReadAllBytes(path));
            var root = document.RootElement;
            var entities = new List<(string, string)>();
            foreach (var item in root.GetProperty("entities").EnumerateArray())
                entities.Add((item.GetProperty("type").GetString()!, item.GetProperty("entity").GetRawText()));
            return (root.GetProperty("version").GetInt64(), root.GetProperty("config_hash").GetString()!, entities);
        }
        catch (Exception e) when (e is JsonException or IOException or UnauthorizedAccessException or KeyNotFoundException or InvalidOperationException)
        {
            logger.LogError("cannot read the cached hybrid configuration {Path} ({Message}); waiting for the control plane", path, e.Message);
            return null;
        }
    }

    /// <summary>Writes what <paramref name="snapshot"/> gives once <see cref="Spacing"/> has passed since the last write; later calls meanwhile are folded into one.</summary>
    public void Schedule(Func<(long Version, string Hash, List<WireEntity> Entities)> snapshot)
    {
        lock (_gate)
        {
            _pending = snapshot;
            if (_writing)
                return;
            _writing = true;
            _writer = InlineIo.RunOffSocketThreads(WriteWhileDueAsync);
        }
    }

    // One writer at a time: it writes what is pending once due, and stops when nothing is left.
    private bool _writing;

    private async Task WriteWhileDueAsync()
    {
        while (true)
        {
            var wait = _lastWrite + Spacing - DateTime.UtcNow;
            if (wait > TimeSpan.Zero)
                await Task.Delay(wait);
            Func<(long, string, List<WireEntity>)>? snapshot;
            lock (_gate)
            {
                snapshot = _pending;
                _pending = null;
                if (snapshot is null)
                {
                    _writing = false;
                    return;
                }
            }
            var clock = System.Diagnostics.Stopwatch.StartNew();
            try
            {
                var (version, hash, entities) = snapshot();
                Write(version, hash, entities);
                Interlocked.Increment(ref _writes);
                Node.MemoryTrace.Log(logger, "hybrid cache written");
            }
            catch (Exception e)
            {
                logger.LogError("cannot write the hybrid configuration cache {Path} ({Message}); a restart without the control plane would serve an older one", path, e.Message);
            }
            // What the snapshot and the write cost together: both are paid again by the next write.
            _lastCost = clock.Elapsed;
            _lastWrite = DateTime.UtcNow;
            if (_lastCost * CostFactor > _interval)
                logger.LogDebug("hybrid configuration cache written in {Milliseconds} ms; the next write waits {Spacing} ms at least", clock.ElapsedMilliseconds, (long)Spacing.TotalMilliseconds);
        }
    }

    private void Write(long version, string hash, List<WireEntity> entities)
    {
        var temporary = path + ".tmp";
        // A leftover of a crash keeps its mode when opened again: the mode is only set on a new file.
        File.Delete(temporary);
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write, Share = FileShare.None };
        if (!OperatingSystem.IsWindows())
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        using (var stream = new FileStream(temporary, options))
        {
            using (var writer = new Utf8JsonWriter(stream))
            {
                writer.WriteStartObject();
                writer.WriteNumber("version", version);
                writer.WriteString("config_hash", hash);
                writer.WriteStartArray("entities");
                foreach (var entity in entities)
                {
                    writer.WriteStartObject();
                    writer.WriteString("type", entity.Type);
                    writer.WritePropertyName("entity");
                    writer.WriteRawValue(entity.Json, skipInputValidation: true);
                    writer.WriteEndObject();
                }
                writer.WriteEndArray();
                writer.WriteEndObject();
            }
            stream.Flush(flushToDisk: true);
        }
        File.Move(temporary, path, overwrite: true);
    }

    /// <summary>Finishes a write that is due, so that a node stopped just after a change keeps it.</summary>
    public async ValueTask DisposeAsync()
    {
        Task writer;
        lock (_gate)
            writer = _writer;
        await writer.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }
}
