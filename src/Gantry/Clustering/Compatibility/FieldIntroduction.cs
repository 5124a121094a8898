namespace Gantry.Clustering.Compatibility;

/// <summary>
/// One field that a release added to an entity type or to a plugin: data planes of earlier releases do
/// not know it, and the control plane leaves it out of what it sends them.
/// </summary>
/// <param name="Release">The first release that knows the field.</param>
/// <param name="EntityType">The entity collection as the wire names it ("services"; "plugins" for a plugin's field).</param>
/// <param name="Plugin">For a plugin's field, the plugin's name; the field is then stripped from plugin entities of that name only.</param>
/// <param name="Path">Dot-separated path within the entity in wire form ("tls_verify", "config.sync_rate"); an array on
/// the way applies the rest of the path to each of its objects.</param>
public sealed record FieldIntroduction(ReleaseVersion Release, string EntityType, string? Plugin, string Path)
{
    public static FieldIntroduction OfEntity(string release, string entityType, string path) =>
        new(ReleaseVersion.Parse(release), entityType, null, path);

    public static FieldIntroduction OfPlugin(string release, string plugin, string path) =>
        new(ReleaseVersion.Parse(release), "plugins", plugin, path);

    /// <summary>What a log line names: "services.tls_verify (0.3.0)" or "plugin rate-limiting config.sync_rate (0.3.0)".</summary>
    public override string ToString() => Plugin is null ? $"{EntityType}.{Path} ({Release})" : $"plugin {Plugin} {Path} ({Release})";
}

/// <summary>
/// The fields each release added, which older data planes must not be sent. Add a row here with every
/// release that adds a field to an entity or to a bundled plugin's configuration; a test host adds its
/// own through <see cref="GantryHost.IntroducedFields"/>.
/// </summary>
public static class FieldIntroductions
{
    /// <summary>0.3.0 is the first release with hybrid mode: rows start with the release after it.</summary>
    public static IReadOnlyList<FieldIntroduction> BuiltIn { get; } =
    [
        // The expressions router's route fields (router_flavor = expressions).
        FieldIntroduction.OfEntity("0.4.0", "routes", "expression"),
        FieldIntroduction.OfEntity("0.4.0", "routes", "priority"),
        FieldIntroduction.OfPlugin("0.4.0", "prometheus", "config.ai_metrics"),
    ];
}
