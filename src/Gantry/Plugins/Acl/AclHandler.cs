using System.Collections.Frozen;
using Gantry.Plugins.Pipeline;

namespace Gantry.Plugins.Acl;

/// <summary>
/// Lets through, or turns away, the consumer an authentication plugin identified, by its groups: 401
/// when no consumer is known, 403 when its groups are not allowed or are denied. The groups are sent
/// upstream in X-Consumer-Groups unless <c>hide_groups_header</c>.
/// </summary>
public sealed class AclHandler : PluginHandler
{
    private readonly FrozenSet<string>? _allow;
    private readonly FrozenSet<string>? _deny;
    private readonly bool _hideGroups;
    private readonly FrozenDictionary<Guid, string[]> _groups;

    public AclHandler(PluginConfig config, PluginSetup setup)
    {
        _allow = Set(config, "allow");
        _deny = Set(config, "deny");
        _hideGroups = config.Flag("hide_groups_header", false);
        _groups = setup.Shared("acl:groups", () => setup.Entities(AclGroups.Schema.Name)
            .GroupBy(g => Guid.Parse(g["consumer"]!["id"]!.GetValue<string>()))
            .ToFrozenDictionary(g => g.Key, g => g.Select(e => e["group"]!.GetValue<string>()).Order(StringComparer.Ordinal).ToArray()));
    }

    private static FrozenSet<string>? Set(PluginConfig config, string name) =>
        config.Strings(name, []) is { Length: > 0 } list ? list.ToFrozenSet(StringComparer.Ordinal) : null;

    public override ValueTask AccessAsync(PluginRequest request)
    {
        if (request.Consumer is not { } consumer)
        {
            request.Exit(401, "Unauthorized");
            return ValueTask.CompletedTask;
        }
        var groups = _groups.GetValueOrDefault(consumer.Id) ?? [];
        var allowed = _allow is not null ? groups.Any(_allow.Contains) : !groups.Any(_deny!.Contains);
        if (!allowed)
        {
            request.Exit(403, "You cannot consume this service");
            return ValueTask.CompletedTask;
        }
        if (!_hideGroups && groups.Length > 0)
            request.Http.Request.Headers["X-Consumer-Groups"] = string.Join(", ", groups);
        return ValueTask.CompletedTask;
    }
}
