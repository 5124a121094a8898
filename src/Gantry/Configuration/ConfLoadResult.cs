namespace Gantry.Configuration;

/// <summary>What <see cref="ConfLoader"/> produced: a configuration, or every reason there is none.</summary>
public sealed class ConfLoadResult
{
    internal ConfLoadResult(GantryConfig? config, string? filePath, IReadOnlyList<ConfError> errors, IReadOnlyList<ConfError> warnings)
    {
        Config = config;
        FilePath = filePath;
        Errors = errors;
        Warnings = warnings;
    }

    /// <summary>The configuration, or null when there are <see cref="Errors"/>: nothing runs on a half-valid configuration.</summary>
    public GantryConfig? Config { get; }

    /// <summary>The conf file that was read (full path), or null; set even when loading failed.</summary>
    public string? FilePath { get; }

    /// <summary>Every problem found, not only the first, in file order and then registry order.</summary>
    public IReadOnlyList<ConfError> Errors { get; }

    /// <summary>Suspicious but accepted settings, such as a property set twice in the file.</summary>
    public IReadOnlyList<ConfError> Warnings { get; }

    public bool IsValid => Config is not null;
}
