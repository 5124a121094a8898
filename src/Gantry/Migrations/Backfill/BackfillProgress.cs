using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Gantry.Cli;

namespace Gantry.Migrations.Backfill;

/// <summary>
/// Reports a backfill's progress: rows done of the total, the rate of this run and the time left. A
/// terminal gets one line that rewrites itself a few times a second; a log (redirected stdout) gets a
/// line every few seconds; <c>--progress json</c> gets one JSON object per line. Every report is
/// throttled, so a fast backfill of many small batches does not flood the output.
/// </summary>
internal sealed class BackfillProgress
{
    private static readonly TimeSpan TerminalInterval = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan PlainInterval = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan JsonInterval = TimeSpan.FromSeconds(1);

    private readonly Output _output;
    private readonly string _subsystem;
    private readonly string _migration;
    private readonly string _table;
    private readonly long _total;
    private readonly long _doneAtStart;
    private readonly ProgressStyle _style;
    private readonly TimeSpan _interval;
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private TimeSpan _lastReport = TimeSpan.MinValue;
    private bool _lineOpen;

    public BackfillProgress(Output output, string subsystem, string migration, string table, long total, long doneAtStart)
    {
        _output = output;
        _subsystem = subsystem;
        _migration = migration;
        _table = table;
        _total = total;
        _doneAtStart = doneAtStart;
        _style = output.Progress == ProgressStyle.Auto
            ? (Console.IsOutputRedirected ? ProgressStyle.Plain : ProgressStyle.Auto)
            : output.Progress;
        _interval = _style switch
        {
            ProgressStyle.Json => JsonInterval,
            ProgressStyle.Plain => PlainInterval,
            _ => TerminalInterval,
        };
    }

    /// <summary>Rows per second in this run (not counting what an interrupted run did).</summary>
    public double Rate(long done)
    {
        var seconds = _clock.Elapsed.TotalSeconds;
        return seconds > 0 ? (done - _doneAtStart) / seconds : 0;
    }

    public TimeSpan Elapsed => _clock.Elapsed;

    public void Report(long done, long updated, bool finished = false)
    {
        var now = _clock.Elapsed;
        if (!finished && _lastReport != TimeSpan.MinValue && now - _lastReport < _interval)
            return;
        _lastReport = now;
        var rate = Rate(done);
        double? eta = rate > 0 ? Math.Max(0, _total - done) / rate : null;
        switch (_style)
        {
            case ProgressStyle.Json:
                _output.Data(JsonSerializer.Serialize(new Dictionary<string, object?>
                {
                    ["event"] = "backfill_progress",
                    ["subsystem"] = _subsystem,
                    ["migration"] = _migration,
                    ["table"] = _table,
                    ["done"] = done,
                    ["total"] = _total,
                    ["updated"] = updated,
                    ["rate"] = Math.Round(rate, 1),
                    ["eta_seconds"] = eta is { } e ? Math.Round(e, 1) : null,
                    ["elapsed_seconds"] = Math.Round(now.TotalSeconds, 2),
                    ["finished"] = finished,
                }));
                break;
            case ProgressStyle.Plain:
                _output.Line(Describe(done, rate, eta));
                break;
            default:
                // \r returns to the start of the line and ESC[K clears what a longer previous line left.
                _output.Partial("\r" + Describe(done, rate, eta) + "\u001b[K");
                _lineOpen = true;
                if (finished)
                    End();
                break;
        }
    }

    /// <summary>Ends a self-rewriting line, so that what is printed next starts on a line of its own.</summary>
    public void End()
    {
        if (!_lineOpen)
            return;
        _output.Partial(Environment.NewLine);
        _lineOpen = false;
    }

    private string Describe(long done, double rate, double? eta)
    {
        var percent = _total > 0 ? Math.Min(100, 100.0 * done / _total) : 100;
        var left = eta is { } seconds ? TimeSpan.FromSeconds(Math.Ceiling(seconds)).ToString(@"hh\:mm\:ss", CultureInfo.InvariantCulture) : "--:--:--";
        return string.Create(CultureInfo.InvariantCulture,
            $"{_subsystem}/{_migration}: backfill {_table}: {done}/{_total} rows ({percent:F1}%), {rate:F0} rows/s, {left} left");
    }
}
