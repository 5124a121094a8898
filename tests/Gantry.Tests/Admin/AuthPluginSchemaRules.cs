namespace Gantry.Tests.Admin;

/// <summary>Kong 3.9's config schema rules of the bundled authentication and access plugins, one row per rule (see <see cref="SchemaFidelityTests"/>).</summary>
public static class AuthPluginSchemaRules
{
    public static readonly Dictionary<string, SchemaRule> Rules = new()
    {
    };
}
