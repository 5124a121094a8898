namespace Gantry.Tests.Support;

internal static class RepositoryFiles
{
    /// <summary>The repository root, found by walking up from the test binaries to Gantry.slnx.</summary>
    public static string Root { get; } = FindRoot();

    public static string PathOf(string relative) => Path.Combine(Root, relative);

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Gantry.slnx")))
            {
                return dir.FullName;
            }
        }
        throw new InvalidOperationException("Gantry.slnx not found above " + AppContext.BaseDirectory);
    }
}
