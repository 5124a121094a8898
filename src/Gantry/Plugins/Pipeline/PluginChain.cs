using System.Collections.Frozen;

namespace Gantry.Plugins.Pipeline;

/// <summary>A configured plugin instance with its handler and the protocols it runs on.</summary>
public sealed class PluginInstance(Guid id, string name, PluginHandler handler, bool http, bool https)
{
    public Guid Id { get; } = id;
    public string Name { get; } = name;
    public PluginHandler Handler { get; } = handler;
    public bool Http { get; } = http;
    public bool Https { get; } = https;

    /// <summary>The handler logs requests that another plugin answered before its access phase (see <see cref="PluginHandler.LogsEveryRequest"/>).</summary>
    public bool LogsEveryRequest { get; } = handler.LogsEveryRequest;
}

/// <summary>
/// One plugin name in a route's chain: the instance that applies when no consumer is known, and the
/// instance that wins for each consumer that has one of its own. Both were resolved by Kong's
/// precedence when the snapshot was built, so a request only looks one up.
/// </summary>
public sealed class PluginSlot(PluginInstance? withoutConsumer, FrozenDictionary<Guid, PluginInstance>? byConsumer)
{
    public PluginInstance? WithoutConsumer { get; } = withoutConsumer;

    public PluginInstance? Resolve(Guid? consumer) =>
        consumer is { } id && byConsumer is not null && byConsumer.TryGetValue(id, out var instance) ? instance : WithoutConsumer;
}

/// <summary>A route's plugins in the order they run: descending priority, then name.</summary>
public sealed class PluginChain(PluginSlot[] slots)
{
    public PluginSlot[] Slots { get; } = slots;
}
