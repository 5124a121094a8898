using Gantry.Entities.Schema;
using static Gantry.Entities.Definitions.CommonFields;

namespace Gantry.Entities.Definitions;

/// <summary>Key sets: named groups of keys (a JWKS), at /key-sets.</summary>
public static class KeySets
{
    public static EntitySchema Schema { get; } = new("key_sets",
    [
        Id(),
        CreatedAt(),
        UpdatedAt(),
        new Field("name", FieldKind.String) { Unique = true, MinLength = 1 },
        Tags(),
    ])
    {
        Table = "key_sets",
        Path = "key-sets",
        EndpointKey = "name",
    };
}
