using System.Diagnostics;
using System.Reflection;
using System.Reflection.Emit;
using Gantry.Plugins.Custom;
using Gantry.Plugins.Pipeline;

namespace Gantry.Tests.Support;

/// <summary>
/// Plugin assemblies for the custom plugin tests: the sample in samples/Gantry.Samples.HeaderStamp, built
/// with dotnet build (bin/test builds it up front; a test run without bin/test builds it here once), and
/// broken assemblies written with System.Reflection.Emit.
/// </summary>
public static class SamplePlugins
{
    private static readonly SemaphoreSlim BuildGate = new(1, 1);

    public static string HeaderStampProject => RepositoryFiles.PathOf("samples/Gantry.Samples.HeaderStamp/Gantry.Samples.HeaderStamp.csproj");

    private static string HeaderStampOutput => RepositoryFiles.PathOf("samples/Gantry.Samples.HeaderStamp/bin/Release/net10.0");

    /// <summary>Copies the sample's build output into <c>{pluginsDirectory}/{name}/</c>, as an operator installs a plugin.</summary>
    public static async Task InstallHeaderStampAsync(string pluginsDirectory, string name = "header-stamp")
    {
        await EnsureBuiltAsync();
        var target = Directory.CreateDirectory(Path.Combine(pluginsDirectory, name)).FullName;
        foreach (var file in Directory.GetFiles(HeaderStampOutput))
        {
            var fileName = Path.GetFileName(file);
            File.Copy(file, Path.Combine(target, fileName.StartsWith("header-stamp.", StringComparison.Ordinal) ? name + fileName["header-stamp".Length..] : fileName));
        }
    }

    private static async Task EnsureBuiltAsync()
    {
        await BuildGate.WaitAsync();
        try
        {
            if (File.Exists(Path.Combine(HeaderStampOutput, "header-stamp.dll")))
                return;
            // The test run has just built src/Gantry in Release; the sample only compiles against it.
            var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var argument in (string[])["build", HeaderStampProject, "-c", "Release", "--no-dependencies", "--nologo", "-v", "q"])
                start.ArgumentList.Add(argument);
            using var build = Process.Start(start)!;
            var output = build.StandardOutput.ReadToEndAsync();
            var errors = build.StandardError.ReadToEndAsync();
            await build.WaitForExitAsync();
            Assert.True(build.ExitCode == 0, $"the sample plugin did not build:\n{await output}\n{await errors}");
        }
        finally
        {
            BuildGate.Release();
        }
    }

    /// <summary>Writes <c>{directory}/{name}/{name}.dll</c> holding one public class that is no plugin.</summary>
    public static void WriteAssemblyWithoutPlugin(string directory, string name)
    {
        var (assembly, module) = Define(name);
        var type = module.DefineType("Samples.NotAPlugin", TypeAttributes.Public | TypeAttributes.Sealed);
        type.DefineDefaultConstructor(MethodAttributes.Public);
        type.CreateType();
        Save(assembly, directory, name);
    }

    /// <summary>Writes <c>{directory}/{name}/{name}.dll</c> holding a complete plugin class whose constructor throws.</summary>
    public static void WritePluginThatThrows(string directory, string name, string message)
    {
        var (assembly, module) = Define(name);
        var type = module.DefineType("Samples.ThrowingPlugin", TypeAttributes.Public | TypeAttributes.Sealed, typeof(GantryPlugin));
        var constructor = type.DefineConstructor(MethodAttributes.Public, CallingConventions.Standard, Type.EmptyTypes).GetILGenerator();
        constructor.Emit(OpCodes.Ldstr, message);
        constructor.Emit(OpCodes.Newobj, typeof(InvalidOperationException).GetConstructor([typeof(string)])!);
        constructor.Emit(OpCodes.Throw);
        Override(type, "get_Name", typeof(string), [], il => il.Emit(OpCodes.Ldstr, name));
        Override(type, "get_Version", typeof(string), [], il => il.Emit(OpCodes.Ldstr, "1.0.0"));
        Override(type, "get_Priority", typeof(int), [], il => il.Emit(OpCodes.Ldc_I4, 1));
        Override(type, nameof(GantryPlugin.CreateHandler), typeof(PluginHandler), [typeof(PluginConfig), typeof(PluginSetup)], il => il.Emit(OpCodes.Ldnull));
        type.CreateType();
        Save(assembly, directory, name);
    }

    private static (PersistedAssemblyBuilder, ModuleBuilder) Define(string name)
    {
        var assembly = new PersistedAssemblyBuilder(new AssemblyName(name), typeof(object).Assembly);
        return (assembly, assembly.DefineDynamicModule(name));
    }

    private static void Override(TypeBuilder type, string name, Type returns, Type[] parameters, Action<ILGenerator> body)
    {
        var method = type.DefineMethod(name, MethodAttributes.Public | MethodAttributes.Virtual | MethodAttributes.HideBySig, returns, parameters);
        var il = method.GetILGenerator();
        body(il);
        il.Emit(OpCodes.Ret);
        type.DefineMethodOverride(method, typeof(GantryPlugin).GetMethod(name)!);
    }

    private static void Save(PersistedAssemblyBuilder assembly, string directory, string name)
    {
        var folder = Directory.CreateDirectory(Path.Combine(directory, name)).FullName;
        assembly.Save(Path.Combine(folder, name + ".dll"));
    }
}
