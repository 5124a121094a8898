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
    private bool _partialOpen;

    public static Output Console(Verbosity verbosity) => new(System.Console.Out, System.Console.Error, verbosity);

    public Verbosity Verbosity { get; } = verbosity;

    /// <summary>Text without a line end, for a progress line that rewrites itself on a terminal.</summary>
    public void Partial(string text)
    {
        if (Verbosity != Verbosity.Quiet)
        {
            stdout.Write(text);
            stdout.Flush();
            _partialOpen = true;
        }
    }

    /// <summary>Ends a self-rewriting line, so that what is printed next starts on a line of its own.</summary>
    public void EndPartial()
    {
        if (!_partialOpen)
            return;
        _partialOpen = false;
        stdout.WriteLine();
    }

    public void Line(string message)
    {
        EndPartial();
        if (Verbosity != Verbosity.Quiet)
            stdout.WriteLine(message);
    }

    /// <summary>Machine-readable output (JSON): printed whatever the verbosity.</summary>
    public void Data(string text)
    {
        EndPartial();
        stdout.WriteLine(text);
    }

    public void Warn(string message)
    {
        EndPartial();
        stderr.WriteLine("warning: " + message);
    }

    public void Error(string message)
    {
        EndPartial();
        stderr.WriteLine("Error: " + message);
    }

    public void Verbose(string message)
    {
        if (Verbosity < Verbosity.Verbose)
            return;
        EndPartial();
        stderr.WriteLine("[verbose] " + message);
    }

    public void Debug(string message)
    {
        if (Verbosity < Verbosity.Debug)
            return;
        EndPartial();
        stderr.WriteLine("[debug] " + message);
    }
}
