using System.Reflection;
using System.Runtime.Loader;

namespace Gantry.Plugins.Custom;

/// <summary>
/// The load context of one custom plugin: the plugin's own dependencies (resolved through its
/// <c>.deps.json</c>, else beside it) load here, isolated from other plugins', while everything the node
/// already has (the gantry assembly with the contract, ASP.NET Core, the runtime) is shared, so the
/// plugin's <see cref="GantryPlugin"/> and <c>HttpContext</c> are the node's very types.
/// </summary>
internal sealed class PluginLoadContext(string assemblyPath) : AssemblyLoadContext($"plugin:{Path.GetFileNameWithoutExtension(assemblyPath)}")
{
    private static readonly HashSet<string> Shared = SharedAssemblyNames();
    private readonly AssemblyDependencyResolver _resolver = new(assemblyPath);
    private readonly string _directory = Path.GetDirectoryName(assemblyPath)!;

    protected override Assembly? Load(AssemblyName name)
    {
        // Null defers to the default context: one copy of the contract and the framework for everyone.
        if (name.Name is null || Shared.Contains(name.Name))
            return null;
        var path = _resolver.ResolveAssemblyToPath(name) ?? Path.Combine(_directory, name.Name + ".dll");
        return File.Exists(path) ? LoadFromAssemblyPath(path) : null;
    }

    protected override nint LoadUnmanagedDll(string unmanagedDllName) =>
        _resolver.ResolveUnmanagedDllToPath(unmanagedDllName) is { } path ? LoadUnmanagedDllFromPath(path) : 0;

    /// <summary>The assemblies of the node's own deployment (the trusted platform list: the framework, gantry.dll and its packages).</summary>
    private static HashSet<string> SharedAssemblyNames()
    {
        var names = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        if (AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES") is string list)
        {
            foreach (var file in list.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
                names.Add(Path.GetFileNameWithoutExtension(file));
        }
        foreach (var loaded in Default.Assemblies)
        {
            if (loaded.GetName().Name is { } loadedName)
                names.Add(loadedName);
        }
        return names;
    }
}
