namespace Gantry.Tests.Admin;

/// <summary>Kong 3.9's config schema rules of the bundled traffic, transformation and logging plugins, one row per rule (see <see cref="SchemaFidelityTests"/>).</summary>
public static class TrafficPluginSchemaRules
{
    public static readonly Dictionary<string, SchemaRule> Rules = new()
    {
    };
}
