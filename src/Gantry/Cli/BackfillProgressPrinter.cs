using System.Globalization;
using System.Text.Json;
using Gantry.Migrations;

namespace Gantry.Cli;

/// <summary>
/// Shows a backfill's progress: rows done of the total, the rate of this run and the time left. A
/// terminal gets one line that rewrites itself a few times a second; a log (redirected stdout) gets a
/// line every few seconds; <c>--progress json</c> gets one JSON object per line. Every report is
/// throttled, so a fast backfill of many small batches does not flood the output.
/// </summary>
internal sealed class BackfillProgressPrinter
{
    private static readonly TimeSpan TerminalInterval = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan PlainInterval = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan JsonInterval = TimeSpan.FromSeconds(1);

    private readonly Output _output;
    private readonly ProgressStyle _style;
    private readonly TimeSpan _interval;
    private (string Subsystem, string Migration, string Table)? _backfill;
    private TimeSpan _lastReport;

    public BackfillProgressPrinter(Output output, ProgressStyle style)
    {
        _output = output;
        _style = style == ProgressStyle.Auto
            ? (Console.IsOutputRedirected ? ProgressStyle.Plain : ProgressStyle.Auto)
            : style;
        _interval = _style switch
        {
            ProgressStyle.Json => JsonInterval,
            ProgressStyle.Plain => PlainInterval,
            _ => TerminalInterval,
        };
    }

    public void Print(BackfillProgress progress)
    {
        // The first report of each backfill run is always shown; its clock starts again at zero.
        var backfill = (progress.Subsystem, progress.Migration, progress.Table);
        var first = _backfill != backfill || progress.Elapsed < _lastReport;
        if (!first && !progress.Finished && progress.Elapsed - _lastReport < _interval)
            return;
        _backfill = backfill;
        _lastReport = progress.Elapsed;
        switch (_style)
        {
            case ProgressStyle.Json:
                _output.Data(JsonSerializer.Serialize(new Dictionary<string, object?>
                {
                    ["event"] = "backfill_progress",
                    ["subsystem"] = progress.Subsystem,
                    ["migration"] = progress.Migration,
                    ["table"] = progress.Table,
                    ["done"] = progress.Done,
                    ["total"] = progress.Total,
                    ["updated"] = progress.Updated,
                    ["rate"] = Math.Round(progress.Rate, 1),
                    ["eta_seconds"] = progress.EtaSeconds is { } eta ? Math.Round(eta, 1) : null,
                    ["elapsed_seconds"] = Math.Round(progress.Elapsed.TotalSeconds, 2),
                    ["finished"] = progress.Finished,
                }));
                break;
            case ProgressStyle.Plain:
                _output.Line(Describe(progress));
                break;
            default:
                // \r returns to the start of the line and ESC[K clears what a longer previous line left;
                // the output ends the line before anything else is printed.
                _output.Partial("\r" + Describe(progress) + "\u001b[K");
                if (progress.Finished)
                    _output.EndPartial();
                break;
        }
    }

    private static string Describe(BackfillProgress progress)
    {
        var percent = progress.Total > 0 ? Math.Min(100, 100.0 * progress.Done / progress.Total) : 100;
        var left = progress.EtaSeconds is { } seconds
            ? TimeSpan.FromSeconds(Math.Ceiling(seconds)).ToString(@"hh\:mm\:ss", CultureInfo.InvariantCulture)
            : "--:--:--";
        return string.Create(CultureInfo.InvariantCulture,
            $"{progress.Subsystem}/{progress.Migration}: backfill {progress.Table}: {progress.Done}/{progress.Total} rows ({percent:F1}%), {progress.Rate:F0} rows/s, {left} left");
    }
}
