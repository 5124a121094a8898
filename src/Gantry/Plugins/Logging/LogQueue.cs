using System.Threading.Channels;
using System.Text.Json.Nodes;
using Gantry.Entities.Schema;
using Gantry.Node;

namespace Gantry.Plugins.Logging;

/// <summary>How a plugin's queue batches and retries: Kong 3.x's <c>queue</c> record, in seconds as Kong writes it.</summary>
public sealed record QueueSettings(
    int MaxBatchSize, double MaxCoalescingDelay, int MaxEntries, long? MaxBytes,
    double MaxRetryTime, double InitialRetryDelay, double MaxRetryDelay, bool Concurrent)
{
    /// <summary>One entry at a time and no retry: what tcp-log and udp-log do, as Kong sends them from a timer.</summary>
    public static QueueSettings Unbatched { get; } = new(1, 0, 10000, null, -1, 0.01, 60, false);

    public static QueueSettings From(JsonNode? queue)
    {
        double Number(string name, double fallback) =>
            queue?[name] is JsonValue value && value.GetValueKind() == System.Text.Json.JsonValueKind.Number ? SchemaValidator.ToDouble(value) : fallback;
        return new(
            (int)Number("max_batch_size", 1),
            Number("max_coalescing_delay", 1),
            (int)Number("max_entries", 10000),
            queue?["max_bytes"] is JsonValue bytes && bytes.GetValueKind() == System.Text.Json.JsonValueKind.Number ? (long)SchemaValidator.ToDouble(bytes) : null,
            Number("max_retry_time", 60),
            Number("initial_retry_delay", 0.01),
            Number("max_retry_delay", 60),
            Number("concurrency_limit", 1) < 0);
    }
}

/// <summary>
/// A bounded queue of serialized log entries and the task that sends them in batches: the request path
/// only offers an entry (never waits for the network); a full queue drops the entry with a log line; a
/// failed batch is retried with exponential backoff until max_retry_time, then dropped with a log line.
/// One per plugin instance, kept in the node's state so that it outlives configuration snapshots.
/// </summary>
public sealed class LogQueue : IAsyncDisposable
{
    private readonly Channel<byte[]> _entries;
    private readonly QueueSettings _settings;
    private readonly Func<IReadOnlyList<byte[]>, CancellationToken, Task> _send;
    private readonly ILogger _logger;
    private readonly string _name;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Task _loop;
    private long _queuedBytes;
    private long _lastDropLog;
    private volatile bool _closed;

    public LogQueue(string name, QueueSettings settings, Func<IReadOnlyList<byte[]>, CancellationToken, Task> send, ILogger logger)
    {
        _name = name;
        _settings = settings;
        _send = send;
        _logger = logger;
        _entries = Channel.CreateBounded<byte[]>(new BoundedChannelOptions(settings.MaxEntries)
        {
            SingleReader = true,
            FullMode = BoundedChannelFullMode.Wait,
        });
        _loop = InlineIo.RunOffSocketThreads(LoopAsync);
    }

    /// <summary>What identifies the settings and destination the queue was built for; a changed config gets a new queue.</summary>
    public required string Signature { get; init; }

    /// <summary>What the sender holds open (connections), closed once the queue has sent what it held.</summary>
    public IDisposable? Owned { get; init; }

    /// <summary>Entries dropped because the queue was full or a batch failed past its retry time.</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    private long _dropped;

    /// <summary>Queues an entry; never blocks. False when the queue is full (the entry is dropped and logged).</summary>
    public bool Offer(byte[] entry)
    {
        if (_settings.MaxBytes is { } maxBytes && Interlocked.Add(ref _queuedBytes, entry.Length) > maxBytes)
        {
            Interlocked.Add(ref _queuedBytes, -entry.Length);
            Drop(1, "the queue holds max_bytes");
            return false;
        }
        if (_entries.Writer.TryWrite(entry))
            return true;
        if (_settings.MaxBytes is not null)
            Interlocked.Add(ref _queuedBytes, -entry.Length);
        // A request still on the previous snapshot can log after its instance's config changed.
        Drop(1, _closed ? "the queue was replaced after a configuration change, or the node is stopping" : "the queue holds max_entries");
        return false;
    }

    private void Drop(int count, string reason)
    {
        Interlocked.Add(ref _dropped, count);
        // One line a second at most: a dead collector under load would otherwise flood the node's log.
        var now = Environment.TickCount64;
        var last = Interlocked.Read(ref _lastDropLog);
        if (now - last >= 1000 && Interlocked.CompareExchange(ref _lastDropLog, now, last) == last)
            _logger.LogWarning("{Queue}: {Count} log entries dropped ({Reason}); {Total} dropped so far", _name, count, reason, Dropped);
    }

    private async Task LoopAsync()
    {
        var reader = _entries.Reader;
        var batch = new List<byte[]>(_settings.MaxBatchSize);
        var inFlight = new List<Task>();
        try
        {
            while (await reader.WaitToReadAsync(CancellationToken.None))
            {
                // Coalesce: wait up to max_coalescing_delay after the first entry for the batch to fill.
                var deadline = Environment.TickCount64 + (long)(_settings.MaxCoalescingDelay * 1000);
                while (batch.Count < _settings.MaxBatchSize)
                {
                    if (reader.TryRead(out var entry))
                    {
                        batch.Add(entry);
                        continue;
                    }
                    var left = deadline - Environment.TickCount64;
                    if (left <= 0 || _stopping.IsCancellationRequested)
                        break;
                    using var wait = new CancellationTokenSource(TimeSpan.FromMilliseconds(left));
                    try
                    {
                        if (!await reader.WaitToReadAsync(wait.Token))
                            break;
                    }
                    catch (OperationCanceledException)
                    {
                        break;
                    }
                }
                if (batch.Count == 0)
                    continue;
                var sending = batch.ToArray();
                batch.Clear();
                if (_settings.MaxBytes is not null)
                    Interlocked.Add(ref _queuedBytes, -sending.Sum(e => (long)e.Length));
                var task = SendWithRetriesAsync(sending);
                if (_settings.Concurrent)
                {
                    inFlight.RemoveAll(t => t.IsCompleted);
                    inFlight.Add(task);
                }
                else
                    await task;
            }
        }
        finally
        {
            await Task.WhenAll(inFlight);
        }
    }

    private async Task SendWithRetriesAsync(byte[][] batch)
    {
        var started = Environment.TickCount64;
        var delay = _settings.InitialRetryDelay;
        while (true)
        {
            try
            {
                await _send(batch, _stopping.Token);
                return;
            }
            catch (Exception error)
            {
                var elapsed = (Environment.TickCount64 - started) / 1000.0;
                if (_settings.MaxRetryTime < 0 || elapsed + delay > _settings.MaxRetryTime || _stopping.IsCancellationRequested)
                {
                    Interlocked.Add(ref _dropped, batch.Length);
                    _logger.LogWarning("{Queue}: could not send {Count} log entries, dropped after {Seconds:0.###} s: {Error}", _name, batch.Length, elapsed, error.Message);
                    return;
                }
                _logger.LogDebug("{Queue}: sending {Count} log entries failed, retrying in {Delay} s: {Error}", _name, batch.Length, delay, error.Message);
                try
                {
                    await Task.Delay(TimeSpan.FromSeconds(delay), _stopping.Token);
                }
                catch (OperationCanceledException)
                {
                }
                delay = Math.Min(delay * 2, _settings.MaxRetryDelay);
            }
        }
    }

    /// <summary>Stops taking entries and sends what is queued, for at most <paramref name="grace"/>; what is left then is dropped.</summary>
    public async Task DrainAsync(TimeSpan grace)
    {
        _closed = true;
        _entries.Writer.TryComplete();
        if (await Task.WhenAny(_loop, Task.Delay(grace)) != _loop)
        {
            await _stopping.CancelAsync();
            await _loop.WaitAsync(TimeSpan.FromSeconds(2)).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
        else
            await _stopping.CancelAsync();
        Owned?.Dispose();
    }

    public async ValueTask DisposeAsync()
    {
        await DrainAsync(TimeSpan.FromSeconds(5));
        _stopping.Dispose();
    }
}
