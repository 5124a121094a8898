using System.Text.RegularExpressions;
using Gantry.Entities.Schema;
using static Gantry.Entities.Definitions.CommonFields;

namespace Gantry.Entities.Definitions;

/// <summary>
/// Vaults: a named configuration of a vault type, used in references as {vault://prefix/...}. Gantry, as
/// Kong OSS, ships the env vault (secrets from environment variables).
/// </summary>
public static class Vaults
{
    /// <summary>The vault types this build can load; a prefix may not shadow one of them.</summary>
    public static readonly string[] Types = ["env"];

    public static EntitySchema Schema { get; } = new("vaults",
    [
        Id(),
        CreatedAt(),
        UpdatedAt(),
        new Field("name", FieldKind.String) { Required = true, Check = v => Types.Contains(v.GetValue<string>()) ? null : $"vault '{v.GetValue<string>()}' is not installed" },
        new Field("prefix", FieldKind.String)
        {
            Required = true,
            Unique = true,
            Pattern = new Regex("^[a-z][a-z0-9-]*[a-z0-9]$", RegexOptions.CultureInvariant),
            Check = v => Types.Contains(v.GetValue<string>()) ? $"must not be one of: {string.Join(", ", Types)}" : null,
        },
        new Field("description", FieldKind.String),
        // The env vault's settings; other vault types would bring their own record.
        new Field("config", FieldKind.Record)
        {
            Required = true,
            Fields =
            [
                new Field("prefix", FieldKind.String) { Pattern = new Regex("^[A-Za-z_][A-Za-z0-9_]*$", RegexOptions.CultureInvariant) },
                Boolean("base64_decode", false),
            ],
        },
        Tags(),
    ])
    {
        Table = "vaults",
        EndpointKey = "prefix",
    };
}
