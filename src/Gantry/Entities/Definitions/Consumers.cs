using Gantry.Entities.Schema;
using static Gantry.Entities.Definitions.CommonFields;

namespace Gantry.Entities.Definitions;

/// <summary>Consumers: who calls the APIs, known by a username, an id from another system (custom_id), or both.</summary>
public static class Consumers
{
    public static EntitySchema Schema { get; } = new("consumers",
    [
        Id(),
        CreatedAt(),
        UpdatedAt(),
        new Field("username", FieldKind.String) { Unique = true, MinLength = 1 },
        new Field("custom_id", FieldKind.String) { Unique = true, MinLength = 1 },
        Tags(),
    ])
    {
        Table = "consumers",
        EndpointKey = "username",
        ListFilters = ["custom_id"],
        EntityChecks = [consumer => AtLeastOneOf(consumer, "custom_id", "username") is { } error ? [error] : []],
    };
}
