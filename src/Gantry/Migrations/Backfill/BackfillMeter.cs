using System.Diagnostics;

namespace Gantry.Migrations.Backfill;

/// <summary>Measures one run of a backfill: its rate (not counting what an interrupted run did) and time left.</summary>
internal sealed class BackfillMeter(string subsystem, string migration, string table, long total, long doneAtStart)
{
    private readonly Stopwatch _clock = Stopwatch.StartNew();

    public TimeSpan Elapsed => _clock.Elapsed;

    /// <summary>Rows per second in this run.</summary>
    public double Rate(long done)
    {
        var seconds = _clock.Elapsed.TotalSeconds;
        return seconds > 0 ? (done - doneAtStart) / seconds : 0;
    }

    public BackfillProgress Read(long done, long updated, bool finished)
    {
        var elapsed = _clock.Elapsed;
        var rate = Rate(done);
        double? eta = rate > 0 ? Math.Max(0, total - done) / rate : null;
        return new BackfillProgress(subsystem, migration, table, done, total, updated, rate, eta, elapsed, finished);
    }
}
