using System.Reflection;

namespace Gantry.Plugins.Custom;

/// <summary>Why a custom plugin could not be loaded; the message names the plugin, the file and the fix.</summary>
public sealed class PluginLoadException(string message) : Exception(message);

/// <summary>
/// Finds and loads the custom plugins the plugins property names, from the folders of plugin_paths. A
/// plugin named <c>my-plugin</c> is the assembly <c>my-plugin/my-plugin.dll</c> (its build output in a folder
/// of its own) or <c>my-plugin.dll</c> in one of those folders, the first found in the order given. Every
/// failure is collected, so one start reports all broken plugins at once.
/// </summary>
public static class CustomPluginLoader
{
    /// <param name="names">Plugin names the plugins property lists that no bundled or host plugin answers to.</param>
    /// <param name="bundled">The bundled plugins' names, which a custom plugin may not take.</param>
    public static (IReadOnlyList<PluginDescriptor> Loaded, IReadOnlyList<string> Errors) Load(
        IReadOnlyList<string> directories, IEnumerable<string> names, IReadOnlySet<string> bundled)
    {
        var loaded = new List<PluginDescriptor>();
        var errors = new List<string>();
        foreach (var name in names)
        {
            try
            {
                loaded.Add(LoadOne(directories, name, bundled));
            }
            catch (PluginLoadException e)
            {
                errors.Add(e.Message);
            }
        }
        return (loaded, errors);
    }

    /// <summary>The assembly file of a plugin, or null when no folder of plugin_paths has one.</summary>
    public static string? Find(IReadOnlyList<string> directories, string name)
    {
        foreach (var directory in directories)
        {
            foreach (var candidate in (string[])[Path.Combine(directory, name, name + ".dll"), Path.Combine(directory, name + ".dll")])
            {
                if (File.Exists(candidate))
                    return Path.GetFullPath(candidate);
            }
        }
        return null;
    }

    private static PluginDescriptor LoadOne(IReadOnlyList<string> directories, string name, IReadOnlySet<string> bundled)
    {
        var path = Find(directories, name) ?? throw new PluginLoadException(directories.Count == 0
            ? $"plugins: plugin '{name}' is not installed: it is not bundled and plugin_paths is empty (set plugin_paths to the folder holding {name}/{name}.dll)"
            : $"plugins: plugin '{name}' is not installed: no {name}/{name}.dll or {name}.dll in plugin_paths ({string.Join(", ", directories)})");
        Assembly assembly;
        try
        {
            assembly = new PluginLoadContext(path).LoadFromAssemblyPath(path);
        }
        catch (BadImageFormatException)
        {
            throw new PluginLoadException($"plugins: plugin '{name}': {path} is not a .NET assembly; put the plugin's build output (dotnet build or publish) there");
        }
        catch (Exception e) when (e is FileLoadException or IOException or UnauthorizedAccessException)
        {
            throw new PluginLoadException($"plugins: plugin '{name}': cannot load {path}: {e.Message}");
        }

        Type[] types;
        try
        {
            types = assembly.GetExportedTypes();
        }
        catch (Exception e) when (e is ReflectionTypeLoadException or FileNotFoundException or FileLoadException or TypeLoadException)
        {
            throw new PluginLoadException($"plugins: plugin '{name}': the types of {path} cannot be loaded ({FirstLine(e)}); build it against this Gantry release ({GantryInfo.Version}) and copy its dependencies beside it");
        }
        var candidates = types.Where(t => t is { IsClass: true, IsAbstract: false } && typeof(GantryPlugin).IsAssignableFrom(t)).ToArray();
        if (candidates.Length != 1)
        {
            throw new PluginLoadException(candidates.Length == 0
                ? $"plugins: plugin '{name}': {path} has no public class deriving from {typeof(GantryPlugin).FullName}"
                : $"plugins: plugin '{name}': {path} has {candidates.Length} plugin classes ({string.Join(", ", candidates.Select(c => c.FullName))}); an assembly holds exactly one");
        }
        var type = candidates[0];
        if (type.GetConstructor(Type.EmptyTypes) is null)
            throw new PluginLoadException($"plugins: plugin '{name}': {type.FullName} in {path} has no public parameterless constructor");

        PluginDescriptor descriptor;
        try
        {
            var plugin = (GantryPlugin)Activator.CreateInstance(type)!;
            descriptor = plugin.Describe();
        }
        catch (Exception e)
        {
            var cause = e is TargetInvocationException { InnerException: { } inner } ? inner : e;
            throw new PluginLoadException($"plugins: plugin '{name}': {type.FullName} in {path} failed while loading: {cause.GetType().Name}: {FirstLine(cause)}");
        }
        if (bundled.Contains(descriptor.Name))
            throw new PluginLoadException($"plugins: plugin '{name}': {type.FullName} in {path} takes the name '{descriptor.Name}' of a bundled plugin; give it a name of its own");
        if (descriptor.Name != name)
            throw new PluginLoadException($"plugins: plugin '{name}': {type.FullName} in {path} is named '{descriptor.Name}'; the file and the plugins entry must use the plugin's name");
        if (!PluginVersion.IsValid(descriptor.Version))
            throw new PluginLoadException($"plugins: plugin '{name}': version '{descriptor.Version}' is not major.minor.patch");
        return descriptor;
    }

    private static string FirstLine(Exception e) => e.Message.Split('\n', 2)[0].Trim();
}

internal static class PluginVersion
{
    public static bool IsValid(string? version)
    {
        var parts = version?.Split('.');
        return parts is { Length: 3 } && parts.All(p => p.Length > 0 && p.All(char.IsAsciiDigit));
    }
}
