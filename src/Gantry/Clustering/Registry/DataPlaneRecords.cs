using Gantry.Clustering.Compatibility;

namespace Gantry.Clustering.Registry;

/// <summary>
/// What a control plane knows of one connected data plane, written to its row on every event that
/// changes or confirms it (hello, ping, applied, a change of status). The row's last_seen and
/// updated_at are stamped by the database when it is written.
/// </summary>
/// <param name="Id">The data plane's node id (hello's node_id).</param>
/// <param name="Ip">The address the link comes from, as the control plane sees it.</param>
/// <param name="Version">The data plane's release (hello's version).</param>
/// <param name="ConfigHash">The hash of what it serves (32 hex digits; 32 zeros for nothing).</param>
/// <param name="Labels">hello's labels (cluster_dp_labels); null when it sent none.</param>
/// <param name="CertificateExpiry">When the data plane's client certificate expires, Unix seconds; null when unknown.</param>
public sealed record DataPlaneReport(
    Guid Id,
    string Hostname,
    string Ip,
    string Version,
    SyncStatus SyncStatus,
    string ConfigHash,
    IReadOnlyDictionary<string, string>? Labels = null,
    long? CertificateExpiry = null);

/// <summary>
/// One row of <c>clustering_data_planes</c> as read back. <see cref="SyncStatus"/> is the stored string,
/// not the enum, so that a status written by a control plane node of a newer release is listed as it
/// wrote it.
/// </summary>
/// <param name="LastSeen">Unix seconds (database clock) of the last report.</param>
/// <param name="Ttl">Seconds left before the row is purged, as Kong lists it.</param>
public sealed record DataPlaneEntry(
    Guid Id,
    string Hostname,
    string Ip,
    string Version,
    string SyncStatus,
    string ConfigHash,
    IReadOnlyDictionary<string, string>? Labels,
    long? CertificateExpiry,
    long LastSeen,
    long UpdatedAt,
    long Ttl)
{
    public SyncStatus Status => SyncStatuses.Parse(SyncStatus);
}

/// <summary>One page of data planes, by id; <paramref name="Offset"/> names the next page, null after the last.</summary>
public sealed record DataPlanePage(IReadOnlyList<DataPlaneEntry> Data, string? Offset);
