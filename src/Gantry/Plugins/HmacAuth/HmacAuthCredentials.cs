using Gantry.Entities.Schema;
using static Gantry.Entities.Definitions.CommonFields;
using static Gantry.Plugins.PluginFields;

namespace Gantry.Plugins.HmacAuth;

/// <summary>A consumer's HMAC usernames and secrets: <c>/hmac-auths</c> and <c>/consumers/{c}/hmac-auth</c>.</summary>
public static class HmacAuthCredentials
{
    public static EntitySchema Schema { get; } = new("hmacauth_credentials",
    [
        .. CredentialHead(),
        new Field("username", FieldKind.String) { Required = true, Unique = true, MinLength = 1 },
        new Field("secret", FieldKind.String) { Auto = AutoValue.RandomString, MinLength = 1 },
        Tags(),
    ])
    {
        Table = "hmacauth_credentials",
        Path = "hmac-auths",
        NestedPath = "hmac-auth",
        EndpointKey = "username",
    };
}
