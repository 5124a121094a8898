using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using CsCheck;

namespace Gantry.Tests.Admin;

/// <summary>One generated Admin request: where it goes, its Content-Type as sent (null: none) and its raw body.</summary>
public sealed record FuzzRequest(string Method, string Path, string? ContentType, byte[] Body, string Kind)
{
    public override string ToString()
    {
        var shown = Encoding.UTF8.GetString(Body, 0, Math.Min(Body.Length, 300)).Replace("\0", "\\0", StringComparison.Ordinal);
        return $"{Method} {Path} [{Kind}] Content-Type: {ContentType ?? "(none)"}, {Body.Length} bytes: {shown}";
    }
}

/// <summary>
/// An Admin endpoint to fuzz and a valid-looking body for it: the generators start from the template and
/// break it (wrong types, unknown and conflicting keys, broken encodings, broken framing).
/// </summary>
public sealed record FuzzTarget(string Method, string Path, Func<int, JsonObject> Template);

/// <summary>
/// CsCheck generators of hostile Admin request bodies. Every body is drawn from the generator's PCG, so a
/// seed replays the same requests; JSON nodes are built fresh for each draw (a node has one parent).
/// </summary>
public static class FuzzBodies
{
    /// <summary>Field names of Gantry's entities and Kong's usual suspects, to put where templates do not.</summary>
    private static readonly string[] FieldNames =
    [
        "name", "host", "port", "path", "protocol", "protocols", "retries", "tags", "enabled", "config", "paths", "methods",
        "hosts", "headers", "snis", "sources", "destinations", "service", "route", "consumer", "username", "custom_id",
        "target", "weight", "upstream", "cert", "key", "certificate", "kid", "jwk", "pem", "set", "prefix", "id",
        "created_at", "updated_at", "url", "slots", "algorithm", "healthchecks", "hash_on", "regex_priority", "strip_path",
        "ca_certificates", "client_certificate", "tls_verify", "connect_timeout", "password", "secret", "group",
        "redirect_uris", "instance_name", "ordering", "expression", "priority", "unknown_field", "config.minute", "@entity",
    ];

    private static readonly string[] NastyStrings =
    [
        "", " ", "a", "é", "日本", "😀", "\u0001", "\u007f", "\u00a0", "\u2028", "\ufeff", "\uffff", "a,b", "a/b", "*", "%", "%00", "%zz",
        "~/a(?=b)", "~/(a", "~/\\", "/", "//", "/a b", "/%ZZ", "http://", "http://a.test:99999/x", "https://[::1]:80/p", "::1", "[::1]",
        "1.2.3.4:80", "a.test:0", "a.test:-1", "0", "-1", "1.5", "true", "null", "{}", "[]", "00000000-0000-0000-0000-000000000000",
        "{vault://env/x}", "'; DROP TABLE services; --", "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----",
        new string('x', 300), new string('t', 1100), "GET", "get", "HS256", "round-robin", "consistent-hashing", "local", "redis",
        "a\u0000b", "\u0000",
    ];

    /// <summary>JSON texts to splice in as a value: each is a number or string .NET might choke on, or not JSON at all.</summary>
    private static readonly string[] NastyJsonValues =
    [
        "\"\\ud800\"", "\"a\\udfffb\"", "\"\\udc00\\ud800\"", "\"\\ud83d\\ude00\"", "\"\\u0000\"", "\"a\\u0000\"", "1e400", "-1e400", "1e-400",
        "123456789012345678901234567890", "9007199254740993", "-0", "0.1e1", "1E2", "1.0", "-9223372036854775809", "18446744073709551616",
        "NaN", "Infinity", "-", "01", ".5", "1.", "\"\\x41\"", "\"\\u12\"", "\"\\\"", "[1,]", "{\"a\":1,}", "{\"\":1}", "[[[[[[[[[[]]]]]]]]]]",
        "{\"id\":\"\\ud800\"}", "{\"id\":1e400}", "[\"\\ud800\"]", "[\"a\",\"a\"]", "true", "false", "null", "{}", "[]", "\"\"",
    ];

    /// <summary>Byte sequences no UTF-8 decoder should accept, and a raw NUL.</summary>
    private static readonly byte[][] BadBytes =
    [
        [0xff], [0xfe, 0xff], [0xc0, 0x80], [0xed, 0xa0, 0x80], [0xed, 0xbf, 0xbf], [0xf4, 0x90, 0x80, 0x80], [0xc3], [0xe2, 0x82],
        [0x80], [0xf8, 0x88, 0x80, 0x80, 0x80], [0x00], [0x0d, 0x0a], [0x1b],
    ];

    private static readonly string[] PercentJunk =
    [
        "%", "%Z", "%zz", "%%", "%2", "%E2%82", "%ED%A0%80", "%C0%80", "%FF", "%00", "%F4%90%80%80", "+", "%2B", "%u0041", "%%41", "%25", "%0d%0a",
    ];

    private static readonly string[] ContentTypeLies =
    [
        "application/json", "application/x-www-form-urlencoded", "multipart/form-data", "multipart/form-data; boundary=zz",
        "text/plain", "application/xml", "application/json; charset=utf-16", "APPLICATION/JSON", "application/json;;;",
        "multipart/form-data; boundary=\"\"", "multipart/form-data; boundary", "application/json-patch+json", "*/*", ";", "",
    ];

    private static readonly Gen<string> FieldName = Gen.OneOf(FieldNames);

    private static readonly Gen<string> Nasty = Gen.OneOf(NastyStrings);

    private static readonly Gen<string> AnyString = Gen.Frequency(
        (3, Nasty),
        (2, Gen.String[Gen.Char.AlphaNumeric, 0, 12]),
        (1, Gen.String[Gen.Char['\u0000', '\u00ff'], 0, 8]),
        (1, Gen.String[Gen.Char, 0, 6]),
        // Long and incompressible: past what PostgreSQL can put in an index entry.
        (1, Gen.String[Gen.Char['\u4e00', '\u9fff'], 400, 3000]));

    /// <summary>A scalar made fresh on each draw: numbers around and beyond every bound, booleans, strings, null.</summary>
    private static readonly Gen<JsonNode?> Scalar = Gen.Frequency(
        (2, AnyString.Select(s => (JsonNode?)JsonValue.Create(s))),
        (1, Gen.OneOf(0L, 1L, -1L, 5L, 80L, 65535L, 65536L, 32767L, 2147483647L, 2147483648L, long.MaxValue, long.MinValue).Select(n => (JsonNode?)JsonValue.Create(n))),
        (1, Gen.Long.Select(n => (JsonNode?)JsonValue.Create(n))),
        (1, Gen.OneOf(0.5, -0.0, 1e300, -1e300, 1e-300, 4.9e-324, 1.7976931348623157e308).Select(d => (JsonNode?)JsonValue.Create(d))),
        (1, Gen.Bool.Select(b => (JsonNode?)JsonValue.Create(b))),
        (1, Gen.Const<JsonNode?>(() => null)));

    /// <summary>Any JSON value up to <paramref name="depth"/> levels of arrays and objects.</summary>
    private static Gen<JsonNode?> Value(int depth) => depth == 0
        ? Scalar
        : Gen.Frequency(
            (5, Scalar),
            (1, Value(depth - 1).List[0, 4].Select(items => (JsonNode?)new JsonArray(items.ToArray()))),
            (1, Gen.Select(FieldName, Value(depth - 1)).List[0, 3].Select(Object)));

    private static JsonNode? Object(List<(string Key, JsonNode? Value)> pairs)
    {
        var record = new JsonObject();
        foreach (var (key, value) in pairs)
            record[key] = value;
        return record;
    }

    /// <summary>A change to a template: set a field to any value, remove a field, or nest a value under a dotted path.</summary>
    private static readonly Gen<Action<JsonObject>> Mutation = Gen.Frequency(
        (4, Gen.Select(FieldName, Value(3)).Select(p => (Action<JsonObject>)(o => o[p.Item1] = p.Item2))),
        (2, Gen.Int[0, 20].Select(i => (Action<JsonObject>)(o =>
        {
            if (o.Count > 0)
                o.Remove(o.ElementAt(i % o.Count).Key);
        }))),
        (2, Gen.Select(Gen.Int[0, 20], Value(2)).Select(p => (Action<JsonObject>)(o =>
        {
            // Replace an existing field's value, so wrong types land on fields the schema knows.
            if (o.Count > 0)
                o[o.ElementAt(p.Item1 % o.Count).Key] = p.Item2;
        }))),
        (1, Gen.Int[0, 1200].Select(n => (Action<JsonObject>)(o => o["tags"] = new JsonArray(Enumerable.Range(0, n).Select(i => (JsonNode?)$"t{i % 1001}").ToArray())))));

    /// <summary>The template of the target after zero to three mutations.</summary>
    private static Gen<JsonObject> Entity(FuzzTarget target, int serial) =>
        Mutation.List[0, 3].Select(mutations =>
        {
            var entity = target.Template(serial);
            foreach (var mutate in mutations)
                mutate(entity);
            return entity;
        });

    /// <summary>Every kind of request, for one of the targets; <paramref name="serial"/> keeps generated names unique.</summary>
    public static Gen<FuzzRequest> Request(IReadOnlyList<FuzzTarget> targets, int serial) =>
        Gen.Int[0, targets.Count - 1].SelectMany(i =>
        {
            var target = targets[i];
            return Gen.Frequency(
                (5, Json(target, serial)),
                (3, Form(target, serial)),
                (2, Multipart(target, serial)),
                (1, Lying(target, serial)));
        });

    private static Gen<FuzzRequest> Json(FuzzTarget target, int serial) =>
        Gen.Select(Entity(target, serial), Gen.Int[0, 11], Gen.Int[0, 1000], Gen.OneOf(NastyJsonValues), Gen.OneOf(BadBytes), FieldName,
            (entity, breakage, position, nastyValue, badBytes, field) =>
            {
                var text = entity.ToJsonString();
                var body = Encoding.UTF8.GetBytes(text);
                var splice = $"{{\"{field}\":{nastyValue},";
                return breakage switch
                {
                    // A value spliced in front: duplicates a key when the template has it, or adds one.
                    0 or 1 => Make("json-splice", Encoding.UTF8.GetBytes(splice + text[1..])),
                    2 => Make("json-duplicate", Encoding.UTF8.GetBytes(entity.Count > 0 ? $"{{\"{entity.First().Key}\":{entity.First().Value?.ToJsonString() ?? "null"}," + text[1..] : text)),
                    3 => Make("json-bad-bytes", Encoding.UTF8.GetBytes($"{{\"{field}\":\"a").Concat(badBytes).Concat(Encoding.UTF8.GetBytes("b\"," + text[1..])).ToArray()),
                    4 => Make("json-truncated", body[..(position % Math.Max(body.Length, 1))]),
                    5 => Make("json-deep", Encoding.UTF8.GetBytes($"{{\"{field}\":" + string.Concat(Enumerable.Repeat("{\"a\":", position % 90)) + "1" + new string('}', position % 90) + "}")),
                    6 => Make("json-deep-array", Encoding.UTF8.GetBytes($"{{\"{field}\":" + new string('[', position % 90) + new string(']', position % 90) + "}")),
                    7 => Make("json-top-level", Encoding.UTF8.GetBytes(new[] { "[]", "[{}]", "null", "1", "\"s\"", "true", "", " ", "{}", "[" + text + "]" }[position % 10])),
                    _ => Make("json", body),
                };
                FuzzRequest Make(string kind, byte[] bytes) => new(target.Method, target.Path, "application/json", bytes, kind);
            });

    /// <summary>The entity as form pairs, in Kong's notations: dotted records, repeated or bracketed lists.</summary>
    private static List<(string Key, string Value)> Flatten(JsonObject entity, int style)
    {
        var pairs = new List<(string, string)>();
        void Add(string key, JsonNode? value)
        {
            switch (value)
            {
                case JsonObject record:
                    foreach (var (k, v) in record)
                        Add(style == 2 ? $"{key}[{k}]" : $"{key}.{k}", v);
                    break;
                case JsonArray list:
                    for (var i = 0; i < list.Count; i++)
                        Add(style switch { 0 => key, 1 => key + "[]", _ => $"{key}[{i + 1}]" }, list[i]);
                    break;
                case null:
                    pairs.Add((key, ""));
                    break;
                default:
                    pairs.Add((key, value.GetValueKind() == System.Text.Json.JsonValueKind.String ? value.GetValue<string>() : value.ToJsonString()));
                    break;
            }
        }
        foreach (var (key, value) in entity)
            Add(key, value);
        return pairs;
    }

    private static Gen<FuzzRequest> Form(FuzzTarget target, int serial) =>
        Gen.Select(Entity(target, serial), Gen.Int[0, 2], Gen.Int[0, 9], Gen.Int[0, 1000], Gen.OneOf(PercentJunk), Gen.OneOf(BadBytes), FieldName,
            (entity, style, breakage, position, junk, badBytes, field) =>
            {
                var pairs = Flatten(entity, style);
                var text = string.Join('&', pairs.Select(p => Uri.EscapeDataString(p.Key).Replace("%5B", "[").Replace("%5D", "]") + "=" + Uri.EscapeDataString(p.Value)));
                string kind;
                byte[] body;
                switch (breakage)
                {
                    case 0:
                        (kind, body) = ("form-conflict", Encoding.ASCII.GetBytes($"{text}&{field}=1&{field}.b=2"));
                        break;
                    case 1:
                        (kind, body) = ("form-conflict-reversed", Encoding.ASCII.GetBytes($"{field}[1]=x&{field}=1&{field}[]=y&{text}"));
                        break;
                    case 2:
                        (kind, body) = ("form-percent", Encoding.ASCII.GetBytes($"{text}&{field}=a{junk}b&{junk}={junk}"));
                        break;
                    case 3:
                        (kind, body) = ("form-bad-bytes", Encoding.ASCII.GetBytes($"{text}&{field}=a").Concat(badBytes).ToArray());
                        break;
                    case 4:
                        (kind, body) = ("form-keys", Encoding.ASCII.GetBytes(text + "&" + new[] { "[", "]", "[[", "]]", "a[]b", ".", "..", "a..b", "=", "&&", "tags[99999999999]=1", "tags[-1]=x", "tags[0]=y&tags[00]=z", "config[a][b][c]=1", "a[b]c=1" }[position % 15] + "=v"));
                        break;
                    case 5:
                        (kind, body) = ("form-deep-key", Encoding.ASCII.GetBytes($"{text}&{field}" + string.Concat(Enumerable.Repeat(".a", position % 200)) + "=1"));
                        break;
                    default:
                        (kind, body) = ("form", Encoding.ASCII.GetBytes(text));
                        break;
                }
                return new FuzzRequest(target.Method, target.Path, "application/x-www-form-urlencoded", body, kind);
            });

    private static Gen<FuzzRequest> Multipart(FuzzTarget target, int serial) =>
        Gen.Select(Entity(target, serial), Gen.Int[0, 2], Gen.Int[0, 11], Gen.OneOf(BadBytes), FieldName)
            .Select(t =>
            {
                var (entity, style, breakage, badBytes, field) = t;
                const string boundary = "gantry-fuzz-7d1f";
                var parts = new MemoryStream();
                void Write(string s) => parts.Write(Encoding.UTF8.GetBytes(s));
                foreach (var (key, value) in Flatten(entity, style))
                    Write($"--{boundary}\r\nContent-Disposition: form-data; name=\"{key}\"\r\n\r\n{value}\r\n");
                var contentType = $"multipart/form-data; boundary={boundary}";
                var kind = "multipart";
                switch (breakage)
                {
                    case 0:
                        contentType = "multipart/form-data";
                        kind = "multipart-no-boundary";
                        break;
                    case 1:
                        contentType = "multipart/form-data; boundary=other";
                        kind = "multipart-wrong-boundary";
                        break;
                    case 2:
                        Write($"--{boundary}\r\nbroken header line\r\n\r\nx\r\n");
                        kind = "multipart-broken-part";
                        break;
                    case 3:
                        Write($"--{boundary}\r\nContent-Type: text/plain\r\n\r\nno disposition\r\n");
                        kind = "multipart-no-disposition";
                        break;
                    case 4:
                        Write($"--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"\r\n\r\na");
                        parts.Write(badBytes);
                        Write("b\r\n");
                        kind = "multipart-bad-bytes";
                        break;
                    case 5:
                        Write($"--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"x.txt\"\r\nContent-Type: application/octet-stream\r\n\r\nfile\r\n");
                        kind = "multipart-file";
                        break;
                    case 6:
                        contentType = "multipart/form-data; boundary=" + new string('b', 100);
                        kind = "multipart-long-boundary";
                        break;
                    case 7:
                        Write($"--{boundary}\r\nContent-Disposition: form-data; name=\"{field}.a\"\r\n\r\n1\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"\r\n\r\n2\r\n");
                        kind = "multipart-conflict";
                        break;
                    case 8:
                        // Cut off: no closing delimiter.
                        var cut = parts.ToArray();
                        return new FuzzRequest(target.Method, target.Path, contentType, cut[..(cut.Length * 2 / 3)], "multipart-truncated");
                }
                Write($"--{boundary}--\r\n");
                return new FuzzRequest(target.Method, target.Path, contentType, parts.ToArray(), kind);
            });

    /// <summary>A body whose Content-Type says something else: JSON sent as a form, a form as JSON, anything as text.</summary>
    private static Gen<FuzzRequest> Lying(FuzzTarget target, int serial) =>
        Gen.Select(Entity(target, serial), Gen.OneOf(ContentTypeLies), Gen.Bool)
            .Select(t =>
            {
                var (entity, contentType, asForm) = t;
                var body = asForm
                    ? Encoding.UTF8.GetBytes(string.Join('&', Flatten(entity, 0).Select(p => $"{p.Key}={p.Value}")))
                    : Encoding.UTF8.GetBytes(entity.ToJsonString());
                return new FuzzRequest(target.Method, target.Path, contentType.Length == 0 ? null : contentType, body, "content-type-lies");
            });

    public static string Name(string prefix, int serial) => prefix + serial.ToString(CultureInfo.InvariantCulture);
}
