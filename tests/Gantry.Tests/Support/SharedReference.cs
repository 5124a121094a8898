namespace Gantry.Tests.Support;

/// <summary>
/// The project's shared reference material (Kong's Admin API contract, its declarative fixtures), which
/// is data the tests read but never part of the repository. It is found through GANTRY_SHARED_DIR, else
/// as a 'shared' folder beside or above the checkout, else at the workplace's /work/shared.
/// </summary>
public static class SharedReference
{
    public static string PathOf(string relative)
    {
        foreach (var root in Candidates())
        {
            var candidate = Path.Combine(root, relative);
            if (File.Exists(candidate))
                return candidate;
        }
        throw new FileNotFoundException(
            $"{relative} not found in the shared reference folder (set GANTRY_SHARED_DIR; looked in {string.Join(", ", Candidates())})");
    }

    private static IEnumerable<string> Candidates()
    {
        if (Environment.GetEnvironmentVariable("GANTRY_SHARED_DIR") is { Length: > 0 } configured)
            yield return configured;
        for (var dir = new DirectoryInfo(RepositoryFiles.Root); dir is not null; dir = dir.Parent)
            yield return Path.Combine(dir.FullName, "shared");
        yield return "/work/shared";
    }
}
