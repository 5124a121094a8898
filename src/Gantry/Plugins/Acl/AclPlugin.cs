using Gantry.Entities.Schema;
using static Gantry.Plugins.PluginFields;

namespace Gantry.Plugins.Acl;

/// <summary>acl: lets through, or turns away, the consumers of the listed groups.</summary>
public static class AclPlugin
{
    public static IReadOnlyList<Field> Config { get; } =
    [
        NonEmptyStrings("allow"),
        NonEmptyStrings("deny"),
        Flag("hide_groups_header", false),
        Flag("always_use_authenticated_groups", false),
        Flag("include_consumer_groups", false),
    ];

    public static PluginDescriptor Descriptor { get; } = new("acl", Bundled: true, AclMigrations.Subsystem)
    {
        Priority = 950,
        Handler = (config, setup) => new AclHandler(config, setup),
        Config = Config,
        ConfigChecks = [OnlyOneOf("allow", "deny"), AtLeastOneOf("allow", "deny")],
        NoConsumer = true,
        Entities = [AclGroups.Schema],
    };
}
