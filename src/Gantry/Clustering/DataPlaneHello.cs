using System.Security.Cryptography.X509Certificates;
using System.Text.Json;

namespace Gantry.Clustering;

/// <summary>Who a data plane says it is in its first message, with what the control plane saw of its connection.</summary>
public sealed record DataPlaneHello(
    string NodeId,
    string Hostname,
    string Version,
    IReadOnlyList<(string Name, string Version)> Plugins,
    IReadOnlyDictionary<string, string> Labels,
    string ConfigHash,
    string Ip,
    X509Certificate2? Certificate)
{
    public static DataPlaneHello Parse(JsonElement message, string ip, X509Certificate2? certificate)
    {
        var plugins = new List<(string, string)>();
        if (message.TryGetProperty("plugins", out var list) && list.ValueKind == JsonValueKind.Array)
        {
            foreach (var plugin in list.EnumerateArray())
                plugins.Add((ClusterMessages.StringOf(plugin, "name") ?? "", ClusterMessages.StringOf(plugin, "version") ?? ""));
        }
        var labels = new Dictionary<string, string>(StringComparer.Ordinal);
        if (message.TryGetProperty("labels", out var map) && map.ValueKind == JsonValueKind.Object)
        {
            foreach (var label in map.EnumerateObject())
                labels[label.Name] = label.Value.ValueKind == JsonValueKind.String ? label.Value.GetString()! : label.Value.GetRawText();
        }
        return new DataPlaneHello(ClusterMessages.StringOf(message, "node_id") ?? "", ClusterMessages.StringOf(message, "hostname") ?? "",
            ClusterMessages.StringOf(message, "version") ?? "", plugins, labels, ClusterMessages.StringOf(message, "config_hash") ?? global::Gantry.Clustering.ConfigHash.Empty, ip, certificate);
    }
}
