using System.Text.Json;

namespace Gantry.Proxy;

/// <summary>
/// What changed since the last build, as the cluster events of the writes say it: per entity type the ids
/// of the rows written, or "some row" when an event names no id. A build reads again only those rows, and
/// rebuilds only what they feed.
/// </summary>
public sealed class SnapshotChanges
{
    private static readonly IReadOnlySet<Guid> NoIds = new HashSet<Guid>();

    // A null set: some row of the type changed, which one is not known.
    private readonly Dictionary<string, HashSet<Guid>?> _byType = new(StringComparer.Ordinal);

    /// <summary>Anything may have changed: the build starts over.</summary>
    public bool Everything { get; private set; }

    public static SnapshotChanges All() => new() { Everything = true };

    /// <summary>Changes known by their entity types only.</summary>
    public static SnapshotChanges OfTypes(IEnumerable<string> types)
    {
        var changes = new SnapshotChanges();
        foreach (var type in types)
            changes.Add(type, null);
        return changes;
    }

    /// <summary>The changes the invalidation events' data name (<c>{"entity": ..., "id": ...}</c>).</summary>
    public static SnapshotChanges FromEvents(IEnumerable<string?> data)
    {
        var changes = new SnapshotChanges();
        foreach (var item in data)
            changes.AddEvent(item);
        return changes;
    }

    /// <summary>A row of <paramref name="type"/> was written; with a null or unreadable id, any row of it may have been.</summary>
    public void Add(string type, string? id)
    {
        if (type == SnapshotBuilder.Everything)
        {
            Everything = true;
            return;
        }
        if (id is null || !Guid.TryParse(id, out var guid))
        {
            _byType[type] = null;
            return;
        }
        if (!_byType.TryGetValue(type, out var ids))
            _byType[type] = [guid];
        else
            ids?.Add(guid);
    }

    /// <summary>Adds what an event's data names; an event that names no entity counts as a change of everything.</summary>
    private void AddEvent(string? data)
    {
        try
        {
            using var document = data is null ? null : JsonDocument.Parse(data);
            if (document is null || document.RootElement.ValueKind != JsonValueKind.Object
                || !document.RootElement.TryGetProperty("entity", out var entity) || entity.GetString() is not { } type)
            {
                Everything = true;
                return;
            }
            Add(type, document.RootElement.TryGetProperty("id", out var id) && id.ValueKind == JsonValueKind.String ? id.GetString() : null);
        }
        catch (JsonException)
        {
            Everything = true;
        }
    }

    public bool IsEmpty => !Everything && _byType.Count == 0;

    /// <summary>The entity types named; meaningless when <see cref="Everything"/>.</summary>
    public IEnumerable<string> Types => _byType.Keys;

    public bool Touches(string type) => Everything || _byType.ContainsKey(type);

    public bool TouchesAny(IEnumerable<string> types) => Everything || types.Any(_byType.ContainsKey);

    /// <summary>The ids of the rows of <paramref name="type"/> written: empty when none, null when which ones is not known.</summary>
    public IReadOnlySet<Guid>? Ids(string type) =>
        Everything ? null : _byType.TryGetValue(type, out var ids) ? ids : NoIds;

    public override string ToString() => Everything ? "all" : string.Join(", ", _byType.Keys.Order(StringComparer.Ordinal));
}
