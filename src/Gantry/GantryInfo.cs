using System.Reflection;

namespace Gantry;

/// <summary>The release this binary is.</summary>
public static class GantryInfo
{
    public static string Version { get; } =
        typeof(GantryInfo).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0]
        ?? "0.0.0";
}
