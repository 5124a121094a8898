using System.Collections.Concurrent;

namespace Gantry.Tests.Support;

/// <summary>
/// Constant proxy load that counts every answer: several workers send GET requests in a loop, each to
/// the next of the nodes currently in rotation, and count 2xx answers as served and anything else (a
/// non-2xx status, a refused or reset connection, a timeout) as failed, keeping the first failures'
/// descriptions. Taking a node out of rotation waits for its requests in flight, as a balancer that
/// follows readiness does before the node is stopped.
/// </summary>
public sealed class CountingLoad : IAsyncDisposable
{
    private readonly List<string> _rotation;
    private readonly ConcurrentDictionary<string, int> _inFlight = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<string> _failures = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly Task[] _workers;
    private readonly HttpClient _client = new(new SocketsHttpHandler { PooledConnectionIdleTimeout = TimeSpan.FromSeconds(30) }) { Timeout = TimeSpan.FromSeconds(10) };
    private long _served;
    private long _failed;
    private long _next;

    /// <param name="urls">Full request URLs, one per node (for example http://127.0.0.1:8000/load).</param>
    public CountingLoad(IEnumerable<string> urls, int workers = 4)
    {
        _rotation = [.. urls];
        _workers = [.. Enumerable.Range(0, workers).Select(_ => Task.Run(WorkAsync))];
    }

    public long Served => Interlocked.Read(ref _served);

    public long Failed => Interlocked.Read(ref _failed);

    /// <summary>The first failures, as "url: what happened".</summary>
    public IReadOnlyList<string> Failures => [.. _failures.Take(20)];

    public override string ToString() => $"served {Served}, failed {Failed}" + (Failed > 0 ? ": " + string.Join("; ", Failures) : "");

    public void Add(string url)
    {
        lock (_rotation)
            _rotation.Add(url);
    }

    /// <summary>Takes <paramref name="url"/> out of rotation and returns once no request to it is in flight.</summary>
    public async Task RemoveAsync(string url)
    {
        lock (_rotation)
            _rotation.Remove(url);
        while (_inFlight.GetValueOrDefault(url) > 0)
            await Task.Delay(10);
    }

    /// <summary>Lets the load run until at least <paramref name="requests"/> more have been served (or the timeout passes).</summary>
    public async Task RunForAsync(int requests, TimeSpan timeout)
    {
        var target = Served + requests;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (Served < target && clock.Elapsed < timeout)
            await Task.Delay(20);
    }

    private async Task WorkAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            string url;
            lock (_rotation)
            {
                if (_rotation.Count == 0)
                    url = "";
                else
                    url = _rotation[(int)(Interlocked.Increment(ref _next) % _rotation.Count)];
                if (url.Length > 0)
                    _inFlight.AddOrUpdate(url, 1, (_, n) => n + 1);
            }
            if (url.Length == 0)
            {
                await Task.Delay(10);
                continue;
            }
            try
            {
                using var response = await _client.GetAsync(url, _stop.Token);
                await response.Content.ReadAsByteArrayAsync(_stop.Token);
                if ((int)response.StatusCode is >= 200 and < 300)
                    Interlocked.Increment(ref _served);
                else
                    Fail(url, $"status {(int)response.StatusCode}");
            }
            catch (OperationCanceledException) when (_stop.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException or IOException)
            {
                Fail(url, e.GetType().Name + ": " + e.Message);
            }
            finally
            {
                _inFlight.AddOrUpdate(url, 0, (_, n) => n - 1);
            }
        }
    }

    private void Fail(string url, string what)
    {
        Interlocked.Increment(ref _failed);
        if (_failures.Count < 20)
            _failures.Enqueue(url + ": " + what);
    }

    /// <summary>Stops sending and waits for the requests in flight; the counts are final afterwards.</summary>
    public async Task StopAsync()
    {
        if (!_stop.IsCancellationRequested)
            await _stop.CancelAsync();
        await Task.WhenAll(_workers);
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        _client.Dispose();
        _stop.Dispose();
    }
}
