using Gantry.Migrations;

namespace Gantry;

/// <summary>
/// What a program that embeds Gantry's command line (<see cref="Cli.CliApp.RunAsync(string[], GantryHost)"/>)
/// adds to it. The gantry executable adds nothing; the test suite's host uses it to play several
/// releases of Gantry against one database: each knows other migrations and claims another release.
/// </summary>
public sealed record GantryHost
{
    public static GantryHost Default { get; } = new();

    /// <summary>
    /// Subsystems beyond core and the bundled plugins'. One marked as a plugin becomes an installable
    /// plugin, migrated only while the plugins property names it.
    /// </summary>
    public IReadOnlyList<Subsystem> ExtraSubsystems { get; init; } = [];

    /// <summary>
    /// The release the process claims instead of its build's (major.minor.patch): what 'gantry version'
    /// prints, the records it writes, the release floor, drift and fencing all use it. Null for the build's.
    /// </summary>
    public string? Release { get; init; }

    /// <summary>
    /// Fields this release added beyond the built-in table (<see cref="Clustering.Compatibility.FieldIntroductions.BuiltIn"/>):
    /// a control plane leaves them out of what it sends data planes of earlier releases.
    /// </summary>
    public IReadOnlyList<Clustering.Compatibility.FieldIntroduction> IntroducedFields { get; init; } = [];

    /// <summary>The extra subsystems that are plugins, as the plugin catalog describes plugins.</summary>
    internal IEnumerable<Plugins.PluginDescriptor> ExtraPlugins =>
        ExtraSubsystems.Where(s => s.IsPlugin).Select(s => new Plugins.PluginDescriptor(s.Name, Bundled: false, s));
}
