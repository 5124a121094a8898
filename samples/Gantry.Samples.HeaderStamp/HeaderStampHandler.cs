using Gantry.Plugins.Pipeline;

namespace Gantry.Samples.HeaderStamp;

/// <summary>
/// Resolves the header's value once, when the snapshot is built (a stamp's row is read then, not per
/// request), and sets it in the header_filter phase, on the upstream's responses and on Gantry's own.
/// </summary>
public sealed class HeaderStampHandler : PluginHandler
{
    private readonly string _header;
    private readonly string? _value;

    public HeaderStampHandler(PluginConfig config, PluginSetup setup)
    {
        _header = config.Text("header_name") ?? "X-Header-Stamp";
        _value = config.Text("value");
        if (config.Text("stamp") is { } stamp)
        {
            // A stamp that does not exist (yet) sets no header rather than failing the route.
            _value = setup.Entities(HeaderStamps.Schema.Name)
                .FirstOrDefault(row => row["name"]?.GetValue<string>() == stamp)?["value"]?.GetValue<string>();
        }
    }

    public override void HeaderFilter(PluginRequest request)
    {
        if (_value is not null)
            request.Http.Response.Headers[_header] = _value;
    }
}
