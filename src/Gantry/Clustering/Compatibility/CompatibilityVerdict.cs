namespace Gantry.Clustering.Compatibility;

/// <summary>
/// The outcome of a compatibility check: <see cref="SyncStatus.Normal"/> with no message, or the status
/// that holds the data plane back and a message for both sides' logs and the <c>status</c> message.
/// </summary>
/// <param name="Warnings">What does not hold the data plane back but deserves a log line (a plugin it lacks that nothing uses yet).</param>
public sealed record CompatibilityVerdict(SyncStatus Status, string? Message, IReadOnlyList<string> Warnings)
{
    public static CompatibilityVerdict Compatible { get; } = new(SyncStatus.Normal, null, []);

    public bool IsCompatible => Status == SyncStatus.Normal;
}
