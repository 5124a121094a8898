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

    private readonly ClusterBroadcast _broadcast = new(dao, Channel, registry.NodeId, frequency, data =>
    {
        if (HealthChange.FromJson(data) is { } change)
            registry.Apply(change);
    }, logger);

    /// <summary>Applies the change here and tells the other nodes.</summary>
    public async Task PublishAsync(HealthChange change, CancellationToken cancellationToken)
    {
        registry.Apply(change);
        await _broadcast.PublishAsync(change.ToJson(), cancellationToken);
    }

    public Task StartAsync(CancellationToken cancellationToken) => _broadcast.StartAsync(cancellationToken);

    public ValueTask DisposeAsync() => _broadcast.DisposeAsync();
}
