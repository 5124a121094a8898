using System.Text.Json;
using System.Text.Json.Nodes;
using Gantry.DbLess;
using Gantry.Declarative;
using Gantry.Entities;
using Gantry.Entities.Schema;
using Gantry.Store;

namespace Gantry.Clustering;

/// <summary>A configuration a data plane could not apply, and why; the data plane asks for the whole again.</summary>
public sealed class ConfigurationRefusedException(string message) : Exception(message);

/// <summary>
/// Applies what a control plane sends to a data plane's served configuration: a whole configuration
/// through <see cref="DbLessStore"/> (the loader and validator of <c>POST /config</c>, into a new database),
/// a delta through the write path (<see cref="EntityWriter.Validate"/> with <c>transform = false</c>, then
/// <see cref="WriteTransaction"/>) into the database being served, followed by a rebuild of only the parts
/// of the snapshot the changed entity types feed. It keeps, in wire form, what it applied: a delta's hash
/// is checked against it before anything is written, and the cache is written from it. Calls are serialized
/// by the caller.
/// </summary>
public sealed class DataPlaneApplier(DbLessStore store, EntityRegistry registry)
{
    private WireConfiguration _applied = new(registry);

    /// <summary>The hash of what is served; <see cref="ConfigHash.Empty"/> before anything was.</summary>
    public string Hash => _applied.Hash;

    /// <summary>The control plane's version of what is served (0 for none, or one read from the cache).</summary>
    public long Version { get; private set; }

    /// <summary>What is served, parents first, to write the cache.</summary>
    public (long Version, string Hash, List<WireEntity> Entities) Snapshot() => (Version, _applied.Hash, _applied.Ordered());

    /// <summary>A whole configuration, every part of it; throws <see cref="ConfigurationRefusedException"/> and keeps the last one when it does not apply.</summary>
    public async Task ApplyFullAsync(long version, string hash, IEnumerable<(string Type, string Json)> entities, CancellationToken cancellationToken)
    {
        var received = new WireConfiguration(registry);
        var document = new JsonObject { ["_format_version"] = "3.0", ["_transform"] = false };
        foreach (var (type, json) in entities)
        {
            var entity = JsonNode.Parse(json) as JsonObject ?? throw new ConfigurationRefusedException($"a {type} entity that is not an object");
            var id = entity["id"] is JsonValue value && value.TryGetValue(out string? text) ? text : throw new ConfigurationRefusedException($"a {type} entity without an id");
            received.Put(WireEntity.Of(type, id, json));
            if (document[type] is not JsonArray list)
                document[type] = list = [];
            list.Add(entity);
        }
        if (received.Hash != hash)
            throw new ConfigurationRefusedException($"the configuration received hashes to {received.Hash}, not to the {hash} it was sent with");
        // What was received (the parts, the cache file) is garbage by now, before the load's own peak.
        DbLessStore.CollectAfterLargeLoad(received.Count);
        var load = await store.ApplyDocumentAsync(document, hash, cancellationToken);
        if (!load.Applied)
        {
            var problems = load.Errors.SelectMany(e => e.Lines()).Take(20).ToList();
            if (load.Problem is { } problem)
                problems.Add(problem);
            throw new ConfigurationRefusedException("the configuration does not validate: " + string.Join("; ", problems));
        }
        _applied = received;
        Version = version;
    }

    /// <summary>
    /// A delta, only onto the configuration it was made from and only when it gives the hash it names;
    /// throws <see cref="ConfigurationRefusedException"/> otherwise, or when an entity does not validate or
    /// write, having changed nothing.
    /// </summary>
    public async Task ApplyDeltaAsync(JsonElement delta, CancellationToken cancellationToken)
    {
        var baseHash = ClusterMessages.StringOf(delta, "base_hash");
        var hash = ClusterMessages.StringOf(delta, "config_hash") ?? "";
        if (baseHash != _applied.Hash)
            throw new ConfigurationRefusedException($"a delta onto {baseHash}, while this data plane serves {_applied.Hash}");
        var changes = new List<(WireChange Change, EntitySchema Schema, JsonObject? Entity)>();
        var sum = _applied.Sum;
        foreach (var item in delta.GetProperty("changes").EnumerateArray())
        {
            var type = ClusterMessages.StringOf(item, "type") ?? "";
            var schema = registry.Find(type) ?? throw new ConfigurationRefusedException($"an entity of type '{type}', which this data plane does not know");
            if (ClusterMessages.StringOf(item, "op") == WireChange.Delete)
            {
                var id = ClusterMessages.StringOf(item, "id") ?? "";
                sum -= _applied.Find(type, id)?.Term ?? 0;
                changes.Add((new WireChange(WireChange.Delete, type, id, null), schema, null));
                continue;
            }
            var json = item.GetProperty("entity").GetRawText();
            var entity = JsonNode.Parse(json) as JsonObject ?? throw new ConfigurationRefusedException($"a {type} entity that is not an object");
            var entityId = entity["id"]?.GetValue<string>() ?? throw new ConfigurationRefusedException($"a {type} entity without an id");
            var wire = WireEntity.Of(type, entityId, json);
            sum = sum - (_applied.Find(type, entityId)?.Term ?? 0) + wire.Term;
            changes.Add((new WireChange(WireChange.Upsert, type, entityId, wire), schema, entity));
        }
        if (ConfigHash.Format(sum) != hash)
            throw new ConfigurationRefusedException($"the delta gives {ConfigHash.Format(sum)}, not the {hash} it names");
        var changed = changes.Select(c => c.Change.Type).ToHashSet(StringComparer.Ordinal);
        try
        {
            await store.ApplyChangesAsync((dao, token) => dao.WriteTransactionAsync(async write =>
            {
                foreach (var (change, schema, entity) in changes)
                {
                    if (entity is null)
                    {
                        await write.DeleteAsync(schema, change.Id, token);
                        continue;
                    }
                    var validated = EntityWriter.Validate(schema, (JsonObject)entity.DeepClone(), WriteMode.Insert, null, lenient: false, transform: false);
                    if (DeclarativeLoader.KeepTimestamps(schema, entity, validated) is { } wrong)
                        throw new ConfigurationRefusedException($"{change.Type} {change.Id}: {wrong}: expected a number");
                    await write.UpsertAsync(schema, validated, token);
                }
                return true;
            }, token), changed, hash, cancellationToken);
        }
        catch (EntityException e)
        {
            throw new ConfigurationRefusedException($"the delta does not apply: {e.Message}");
        }
        foreach (var (change, _, _) in changes)
        {
            if (change.Entity is { } wire)
                _applied.Put(wire);
            else
                _applied.Remove(change.Type, change.Id);
        }
        Version = ClusterMessages.LongOf(delta, "version");
    }
}
