namespace Gantry.Tests.Configuration;

/// <summary>A conf file in a fresh temporary directory, deleted on dispose.</summary>
internal sealed class TempConfFile : IDisposable
{
    public TempConfFile(string content)
    {
        Directory = System.IO.Directory.CreateTempSubdirectory("gantry-conf-").FullName;
        Path = System.IO.Path.Combine(Directory, "gantry.conf");
        File.WriteAllText(Path, content);
    }

    public string Directory { get; }
    public string Path { get; }

    /// <summary>A path in the same directory that does not exist, for "no default file" cases.</summary>
    public string Missing => System.IO.Path.Combine(Directory, "absent.conf");

    public void Dispose() => System.IO.Directory.Delete(Directory, recursive: true);
}
