using Gantry.Entities.Schema;
using Gantry.Migrations;
using Gantry.Plugins.Custom;
using Gantry.Plugins.Pipeline;
using static Gantry.Plugins.PluginFields;

namespace Gantry.Samples.HeaderStamp;

/// <summary>
/// header-stamp: sets a response header to a value given in the instance's config, or to the value of a
/// named stamp kept in the plugin's own table (<c>header_stamps</c>, managed on the Admin API at
/// <c>/header-stamps</c>), so one stamp changed there restamps every route that names it.
/// </summary>
public sealed class HeaderStampPlugin : GantryPlugin
{
    public override string Name => "header-stamp";

    public override string Version => "1.0.0";

    // After the authentication plugins and rate limiting (910), before response-transformer (800), so
    // that a transformer can still remove or rename the header.
    public override int Priority => 850;

    public override IReadOnlyList<Field> Config { get; } =
    [
        Text("header_name", "X-Header-Stamp"),
        Text("value"),
        Text("stamp"),
    ];

    public override IReadOnlyList<Func<System.Text.Json.Nodes.JsonObject, IEnumerable<(string? Field, string Message)>>> ConfigChecks { get; } =
        [OnlyOneOf("value", "stamp"), AtLeastOneOf("value", "stamp")];

    public override IReadOnlyList<EntitySchema> Entities { get; } = [HeaderStamps.Schema];

    public override IReadOnlyList<Migration> Migrations { get; } = HeaderStamps.Migrations;

    public override PluginHandler CreateHandler(PluginConfig config, PluginSetup setup) => new HeaderStampHandler(config, setup);
}
