namespace Gantry.Cli;

public enum Verbosity
{
    Quiet,
    Normal,
    Verbose,
    Debug,
}

/// <summary>The CLI's console: results on stdout, warnings and errors on stderr, detail by verbosity.</summary>
public sealed class Output(TextWriter stdout, TextWriter stderr, Verbosity verbosity)
{
    public static Output Console(Verbosity verbosity) => new(System.Console.Out, System.Console.Error, verbosity);

    public Verbosity Verbosity { get; } = verbosity;

    /// <summary>How long operations report progress (set from <c>--progress</c>).</summary>
    public ProgressStyle Progress { get; set; }

    /// <summary>Text without a line end, for a progress line that rewrites itself on a terminal.</summary>
    public void Partial(string text)
    {
        if (Verbosity != Verbosity.Quiet)
        {
            stdout.Write(text);
            stdout.Flush();
        }
    }

    public void Line(string message)
    {
        if (Verbosity != Verbosity.Quiet)
            stdout.WriteLine(message);
    }

    /// <summary>Machine-readable output (JSON): printed whatever the verbosity.</summary>
    public void Data(string text) => stdout.WriteLine(text);

    public void Warn(string message) => stderr.WriteLine("warning: " + message);

    public void Error(string message) => stderr.WriteLine("Error: " + message);

    public void Verbose(string message)
    {
        if (Verbosity >= Verbosity.Verbose)
            stderr.WriteLine("[verbose] " + message);
    }

    public void Debug(string message)
    {
        if (Verbosity >= Verbosity.Debug)
            stderr.WriteLine("[debug] " + message);
    }
}
