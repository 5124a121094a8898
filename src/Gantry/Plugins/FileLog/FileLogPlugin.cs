using System.Text.RegularExpressions;
using Gantry.Entities.Schema;
using Gantry.Plugins.Logging;
using static Gantry.Plugins.PluginFields;

namespace Gantry.Plugins.FileLog;

/// <summary>file-log: appends each request's log entry to a file, one JSON object a line.</summary>
public static partial class FileLogPlugin
{
    public static IReadOnlyList<Field> Config { get; } =
    [
        // Kong refuses names with *, &, %, ` or \ (shell and pattern characters).
        new Field("path", FieldKind.String) { Required = true, MinLength = 1, Check = value => ValidPath().IsMatch(value.GetValue<string>()) ? null : "not a valid filename" },
        Flag("reopen", false),
        LogFields.CustomFieldsByLua(),
    ];

    public static PluginDescriptor Descriptor { get; } = new("file-log", Bundled: true, Migrations: null)
    {
        Priority = 9,
        Config = Config,
        Protocols = LogFields.Protocols,
        Handler = (config, setup) => new FileLogHandler(config, setup),
    };

    [GeneratedRegex(@"^[^*&%\\`]+$")]
    private static partial Regex ValidPath();
}
