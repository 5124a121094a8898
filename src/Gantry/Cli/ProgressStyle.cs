namespace Gantry.Cli;

/// <summary>How long-running operations (backfills) report progress: the <c>--progress</c> option.</summary>
public enum ProgressStyle
{
    /// <summary>A self-rewriting line on a terminal; plain lines when stdout is redirected.</summary>
    Auto,

    /// <summary>One line every few seconds, for logs.</summary>
    Plain,

    /// <summary>One JSON object per line on stdout, for automation.</summary>
    Json,
}
