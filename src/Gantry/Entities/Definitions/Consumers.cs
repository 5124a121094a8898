using System.Text.Json.Nodes;
using Gantry.Entities.Migrations;
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
        new Field("username", FieldKind.String) { Unique = true, MinLength = 1, FoldedBy = Core002ConsumerUsernameLower.Column },
        new Field("custom_id", FieldKind.String) { Unique = true, MinLength = 1 },
        Tags(),
        // Unique: two usernames differing only in case are one consumer, as in Kong; a clash names the username.
        new Field(Core002ConsumerUsernameLower.Column, FieldKind.String) { Internal = true, Unique = true, KeyOf = ["username"] },
    ])
    {
        Table = "consumers",
        EndpointKey = "username",
        ListFilters = ["custom_id", "username"],
        Normalize = consumer => consumer[Core002ConsumerUsernameLower.Column] =
            consumer["username"] is JsonValue username && username.TryGetValue(out string? text) ? AsciiCase.Lower(text) : null,
        ReadingChecks = [new(["custom_id", "username"], consumer => AtLeastOneOf(consumer, "custom_id", "username") is { } error ? [error] : [])],
    };
}
