using System.IO.Compression;
using System.Text;
using System.Text.Json;

namespace Gantry.Clustering;

/// <summary>
/// The messages of the link (docs/hybrid.md): each is one binary WebSocket frame holding a gzip-compressed
/// JSON object whose <c>type</c> names it. Entities are written into a message as the raw text of their
/// wire form, so the receiver hashes exactly the bytes the sender hashed.
/// </summary>
public static class ClusterMessages
{
    public const string Hello = "hello";
    public const string Ping = "ping";
    public const string Pong = "pong";
    public const string Applied = "applied";
    public const string Resync = "resync";
    public const string Full = "full";
    public const string Delta = "delta";
    public const string Status = "status";

    /// <summary>What an entity's JSON outside the entities themselves costs in a part at most (type, keys, punctuation).</summary>
    private const int EntityOverhead = 64;

    public static byte[] Encode(string type, Action<Utf8JsonWriter>? fields = null) => Encode(type, out _, fields);

    /// <summary>Encodes a message and says how long its JSON is before compression.</summary>
    public static byte[] Encode(string type, out long plainLength, Action<Utf8JsonWriter>? fields = null)
    {
        using var compressed = new MemoryStream();
        using (var gzip = new GZipStream(compressed, CompressionLevel.Fastest, leaveOpen: true))
        using (var writer = new Utf8JsonWriter(gzip))
        {
            writer.WriteStartObject();
            writer.WriteString("type", type);
            fields?.Invoke(writer);
            writer.WriteEndObject();
            writer.Flush();
            plainLength = writer.BytesCommitted;
        }
        return compressed.ToArray();
    }

    /// <summary>
    /// How far a message may expand, as a multiple of <c>cluster_max_payload</c>: a sender cuts whole
    /// configurations into parts and sends only deltas whose JSON fits in the payload, so twice is a margin,
    /// and a peer's gzip bomb is refused before it is expanded.
    /// </summary>
    public const int ExpansionLimit = 2;

    /// <summary>
    /// The message in a frame; <see cref="InvalidDataException"/> when it is not gzip-compressed JSON with a
    /// type, or expands beyond <paramref name="maxPlain"/> bytes.
    /// </summary>
    public static JsonDocument Decode(byte[] frame, int length, long maxPlain)
    {
        try
        {
            using var gzip = new GZipStream(new MemoryStream(frame, 0, length), CompressionMode.Decompress);
            using var plain = new MemoryStream();
            var chunk = new byte[81920];
            int read;
            while ((read = gzip.Read(chunk)) > 0)
            {
                if (plain.Length + read > maxPlain)
                    throw new InvalidDataException($"a message that expands beyond {maxPlain} bytes ({ExpansionLimit} × cluster_max_payload)");
                plain.Write(chunk, 0, read);
            }
            var document = JsonDocument.Parse(plain.GetBuffer().AsMemory(0, (int)plain.Length));
            if (document.RootElement.ValueKind != JsonValueKind.Object || !document.RootElement.TryGetProperty("type", out var type) || type.ValueKind != JsonValueKind.String)
            {
                document.Dispose();
                throw new InvalidDataException("a message without a type");
            }
            return document;
        }
        catch (JsonException e)
        {
            throw new InvalidDataException("a message that is not JSON: " + e.Message, e);
        }
    }

    public static string TypeOf(JsonDocument message) => message.RootElement.GetProperty("type").GetString()!;

    public static string? StringOf(JsonElement message, string name) =>
        message.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    public static long LongOf(JsonElement message, string name) =>
        message.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out var number) ? number : 0;

    /// <summary>
    /// A whole configuration in as few parts as keep each under <paramref name="maxPayload"/>: parts are cut by
    /// the uncompressed size, which the compressed one never exceeds by more than gzip's few bytes of framing.
    /// </summary>
    public static List<byte[]> EncodeFull(long version, string hash, IReadOnlyList<WireEntity> entities, int maxPayload)
    {
        var budget = Math.Max(1024, maxPayload - 1024);
        var cuts = new List<(int Start, int Count)>();
        int start = 0, size = 0;
        for (var i = 0; i < entities.Count; i++)
        {
            var cost = Encoding.UTF8.GetMaxByteCount(entities[i].Json.Length) + EntityOverhead;
            if (i > start && size + cost > budget)
            {
                cuts.Add((start, i - start));
                (start, size) = (i, 0);
            }
            size += cost;
        }
        cuts.Add((start, entities.Count - start));
        var parts = new List<byte[]>(cuts.Count);
        for (var p = 0; p < cuts.Count; p++)
        {
            var (first, count) = cuts[p];
            parts.Add(Encode(Full, writer =>
            {
                writer.WriteNumber("version", version);
                writer.WriteString("config_hash", hash);
                writer.WriteNumber("part", p + 1);
                writer.WriteNumber("parts", cuts.Count);
                writer.WriteStartArray("entities");
                for (var i = first; i < first + count; i++)
                {
                    writer.WriteStartObject();
                    writer.WriteString("type", entities[i].Type);
                    writer.WritePropertyName("entity");
                    writer.WriteRawValue(entities[i].Json, skipInputValidation: true);
                    writer.WriteEndObject();
                }
                writer.WriteEndArray();
            }));
        }
        return parts;
    }
}

/// <summary>One change of a delta: an entity written whole, or one deleted.</summary>
public sealed record WireChange(string Op, string Type, string Id, WireEntity? Entity)
{
    public const string Upsert = "upsert";
    public const string Delete = "delete";
}

/// <summary>
/// The changes that take a configuration from <see cref="BaseHash"/> to <see cref="Hash"/>, in the order to
/// apply them: deletes first, children before parents, then upserts, parents before children (deleting
/// first lets a new entity take the name a deleted one had).
/// </summary>
public sealed class ConfigDelta(long version, string baseHash, string hash, IReadOnlyList<WireChange> changes)
{
    private byte[]? _encoded;
    private long _plainLength;

    public long Version { get; } = version;

    public string BaseHash { get; } = baseHash;

    public string Hash { get; } = hash;

    public IReadOnlyList<WireChange> Changes { get; } = changes;

    /// <summary>The frame, encoded once for every data plane that gets it.</summary>
    public byte[] Encoded => _encoded ??= Encode();

    /// <summary>The size of the frame's JSON before compression.</summary>
    public long PlainLength
    {
        get
        {
            _ = Encoded;
            return _plainLength;
        }
    }

    /// <summary>Whether a receiver with this <c>cluster_max_payload</c> takes the frame; a larger change goes as the whole configuration, in parts.</summary>
    public bool FitsIn(int maxPayload) => Encoded.Length <= maxPayload && PlainLength <= maxPayload;

    private byte[] Encode() => ClusterMessages.Encode(ClusterMessages.Delta, out _plainLength, writer =>
    {
        writer.WriteNumber("version", Version);
        writer.WriteString("base_hash", BaseHash);
        writer.WriteString("config_hash", Hash);
        writer.WriteStartArray("changes");
        foreach (var change in Changes)
        {
            writer.WriteStartObject();
            writer.WriteString("op", change.Op);
            writer.WriteString("type", change.Type);
            if (change.Entity is { } entity)
            {
                writer.WritePropertyName("entity");
                writer.WriteRawValue(entity.Json, skipInputValidation: true);
            }
            else
            {
                writer.WriteString("id", change.Id);
            }
            writer.WriteEndObject();
        }
        writer.WriteEndArray();
    });
}
