using System.Text.Json.Nodes;

namespace Gantry.Plugins.Pipeline;

/// <summary>
/// One configured plugin instance, ready to run: built from its config when the configuration snapshot
/// is compiled, so a request never parses config. The phases follow Kong's order: <see cref="AccessAsync"/>
/// before the request is forwarded (it may answer the request itself), <see cref="HeaderFilter"/> when
/// the response headers are about to be sent, <see cref="Log"/> after the response. A handler is shared
/// by every request of every route it applies to, so it keeps no per-request state in fields.
/// </summary>
public abstract class PluginHandler
{
    /// <summary>Runs before the request is forwarded; call <see cref="PluginRequest.Exit"/> to answer it instead.</summary>
    public virtual ValueTask AccessAsync(PluginRequest request) => ValueTask.CompletedTask;

    /// <summary>Runs when the response headers (the upstream's, or Gantry's own answer) are about to be sent.</summary>
    public virtual void HeaderFilter(PluginRequest request)
    {
    }

    /// <summary>
    /// The log phase runs even when an earlier plugin answered the request before this one's access phase
    /// (a metrics plugin counts the 401s and 429s); otherwise only the plugins whose access phase ran log.
    /// </summary>
    public virtual bool LogsEveryRequest => false;

    /// <summary>Runs after the response was sent.</summary>
    public virtual void Log(PluginRequest request)
    {
    }
}

/// <summary>One plugin instance's validated config and the scope it was configured on.</summary>
public sealed record PluginConfig(Guid Id, Guid? Route, Guid? Service, Guid? Consumer, JsonObject Values)
{
    public string? Text(string name) => Values[name]?.GetValue<string>();

    public bool Flag(string name, bool fallback) => Values[name]?.GetValue<bool>() ?? fallback;

    public double Number(string name, double fallback) =>
        Values[name] is { } value ? Entities.Schema.SchemaValidator.ToDouble(value) : fallback;

    public string[] Strings(string name, string[] fallback) =>
        Values[name] is JsonArray array ? array.Select(v => v!.GetValue<string>()).ToArray() : fallback;
}
