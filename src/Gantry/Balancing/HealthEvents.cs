using System.Text.Json;
using Gantry.Store;

namespace Gantry.Balancing;

/// <summary>A manual health change: every entry of a target, or one of its addresses, set up or down.</summary>
public sealed record HealthChange(Guid UpstreamId, string Target, string? Address, bool Healthy)
{
    public string ToJson() => JsonSerializer.Serialize(new { upstream_id = UpstreamId, target = Target, address = Address, healthy = Healthy });

    public static HealthChange? FromJson(string json)
    {
        try
        {
            using var document = JsonDocument.Parse(json);
            var root = document.RootElement;
            return new HealthChange(root.GetProperty("upstream_id").GetGuid(), root.GetProperty("target").GetString()!,
                root.GetProperty("address").GetString(), root.GetProperty("healthy").GetBoolean());
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            return null;
        }
    }
}

/// <summary>
/// Carries manual health changes between the nodes of a cluster. As in Kong they are broadcast, not
/// stored: the node that takes the Admin API call applies the change and writes a <c>cluster_events</c>
/// row on the <c>balancer:post_health</c> channel; every other node polls that channel each
/// db_update_frequency and applies the rows it did not write. A node that starts later does not replay them.
/// </summary>
public sealed class HealthEvents(EntityDao dao, HealthRegistry registry, TimeSpan frequency, ILogger logger) : IAsyncDisposable
{
    public const string Channel = "balancer:post_health";

    // Rows are read again for this long after their time: a transaction that commits late can carry an
    // earlier timestamp than a row already seen. Ids already applied are skipped.
    private const double Lookback = 2.0;

    private readonly CancellationTokenSource _stop = new();
    private readonly Dictionary<Guid, double> _seen = [];
    private double _since;
    private Task? _loop;

    /// <summary>Applies the change here and tells the other nodes.</summary>
    public async Task PublishAsync(HealthChange change, CancellationToken cancellationToken)
    {
        registry.Apply(change);
        await dao.PublishEventAsync(Channel, change.ToJson(), cancellationToken);
    }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var existing = await dao.EventsSinceAsync(Channel, 0, cancellationToken);
        _since = existing.Count > 0 ? existing[^1].At : 0;
        foreach (var row in existing)
            _seen[row.Id] = row.At;
        _loop = Task.Run(LoopAsync, CancellationToken.None);
    }

    private async Task LoopAsync()
    {
        using var timer = new PeriodicTimer(frequency);
        while (await timer.WaitForNextTickAsync(_stop.Token).ConfigureAwait(false))
        {
            try
            {
                foreach (var (id, node, at, data) in await dao.EventsSinceAsync(Channel, _since - Lookback, _stop.Token))
                {
                    if (!_seen.TryAdd(id, at))
                        continue;
                    _since = Math.Max(_since, at);
                    if (node != registry.NodeId && HealthChange.FromJson(data) is { } change)
                        registry.Apply(change);
                }
                foreach (var old in _seen.Where(s => s.Value < _since - Lookback).Select(s => s.Key).ToList())
                    _seen.Remove(old);
            }
            catch (OperationCanceledException) when (_stop.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                // The database is away; the snapshot holder reports that. Changes are picked up when it answers.
                logger.LogDebug("cannot read health events: {Message}", e.Message);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        if (_loop is not null)
            await _loop.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _stop.Dispose();
    }
}
