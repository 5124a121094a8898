using Gantry.Entities.Schema;
using static Gantry.Entities.Definitions.CommonFields;
using static Gantry.Plugins.PluginFields;

namespace Gantry.Plugins.KeyAuth;

/// <summary>A consumer's API keys: <c>/key-auths</c> and <c>/consumers/{c}/key-auth</c>.</summary>
public static class KeyAuthCredentials
{
    public static EntitySchema Schema { get; } = new("keyauth_credentials",
    [
        .. CredentialHead(),
        new Field("key", FieldKind.String) { Required = true, Unique = true, Auto = AutoValue.RandomString, MinLength = 1 },
        // Seconds the key lives for; the proxy treats an expired key as unknown.
        new Field("ttl", FieldKind.Integer) { Min = 0 },
        Tags(),
    ])
    {
        Table = "keyauth_credentials",
        Path = "key-auths",
        NestedPath = "key-auth",
        EndpointKey = "key",
    };
}
