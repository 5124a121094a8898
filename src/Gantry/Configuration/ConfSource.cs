namespace Gantry.Configuration;

/// <summary>Which layer supplied the effective value of a property.</summary>
public enum ConfSource
{
    Default,
    File,
    Environment,
    /// <summary>The command line (<c>-p/--prefix</c>).</summary>
    CommandLine,
}
