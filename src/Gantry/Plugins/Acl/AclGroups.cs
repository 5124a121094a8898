using Gantry.Entities.Schema;
using static Gantry.Entities.Definitions.CommonFields;
using static Gantry.Plugins.PluginFields;

namespace Gantry.Plugins.Acl;

/// <summary>A consumer's group memberships: <c>/acls</c> and <c>/consumers/{c}/acls</c>; a group once per consumer.</summary>
public static class AclGroups
{
    public static EntitySchema Schema { get; } = new("acls",
    [
        .. CredentialHead(),
        new Field("group", FieldKind.String) { Required = true, MinLength = 1 },
        Tags(),
    ])
    {
        Table = "acls",
        UniqueTogether = [["consumer", "group"]],
    };
}
