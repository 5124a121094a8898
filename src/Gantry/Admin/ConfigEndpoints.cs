using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Gantry.DbLess;
using Gantry.Declarative;
using Microsoft.AspNetCore.Http.Features;

namespace Gantry.Admin;

/// <summary>
/// <c>/config</c>: on a node without a database, <c>POST</c> replaces the whole configuration with a
/// declarative document and <c>GET</c> returns the one being served; on a node with a database both
/// answer Kong's 400. A data plane serves <c>GET</c> but refuses <c>POST</c> with a 400 as well: what it
/// serves is what its control plane sent, and a document posted here would be replaced by the next change.
/// </summary>
/// <param name="controlPlane">On a data plane, the control plane it takes its configuration from (<c>cluster_control_plane</c>); null otherwise.</param>
internal sealed class ConfigEndpoints(DbLessStore? store, string? controlPlane = null)
{
    /// <summary>
    /// Larger than the 10 MiB of the other Admin endpoints: a document of 100,000 entities is tens of
    /// megabytes, and it is the only way to configure such a node.
    /// </summary>
    public const long MaxDocumentBytes = 512L * 1024 * 1024;

    /// <summary>Seconds a client is told to wait when a load is still being applied.</summary>
    public const int RetryAfterSeconds = 1;

    public void Map(AdminApi api)
    {
        api.Map("/config", [HttpMethods.Get, HttpMethods.Post], (http, _) =>
            store is null ? throw new AdminError(400, "this endpoint is only available when Kong is configured to not use a database")
            : !HttpMethods.IsPost(http.Request.Method) ? GetAsync(http, store)
            : controlPlane is not null ? throw new AdminError(400, DataPlaneRefusal(controlPlane))
            : PostAsync(http, store));
    }

    public static string DataPlaneRefusal(string controlPlane) =>
        $"this node is a data plane: its configuration comes from the control plane at {controlPlane}; write to the control plane's Admin API instead";

    private static async Task GetAsync(HttpContext http, DbLessStore store)
    {
        var yaml = await store.ExportAsync(http.RequestAborted);
        await AdminJson.WriteAsync(http, 200, new JsonObject { ["config"] = yaml });
    }

    private static async Task PostAsync(HttpContext http, DbLessStore store)
    {
        var posted = await PostedDocument.ReadAsync(http.Request, http.RequestAborted);
        if (string.IsNullOrWhiteSpace(posted.Text))
            throw new AdminError(400, "expected a declarative configuration");
        if (IsTrue(posted.Option("check_hash")) && DbLessStore.HashOf(posted.Text) == store.Hash)
        {
            http.Response.StatusCode = 304;
            return;
        }
        DbLessLoad load;
        try
        {
            load = await store.ApplyAsync(posted.Text, http.RequestAborted);
        }
        catch (ConfigurationBusyException e)
        {
            http.Response.Headers.RetryAfter = RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
            await AdminJson.WriteAsync(http, 429, new JsonObject { ["message"] = e.Message });
            return;
        }
        if (!load.Applied)
        {
            await AdminJson.WriteAsync(http, 400, Invalid(load, IsTrue(posted.Option("flatten_errors"))));
            return;
        }
        await WriteEntitiesAsync(http, load.Entities!);
    }

    /// <summary>
    /// Kong's 201 body: the loaded entities by type, then by id. Written straight onto the response, entity
    /// by entity: for 100,000 entities a copy of them all as one JSON tree and one string was a few hundred megabytes.
    /// </summary>
    private static async Task WriteEntitiesAsync(HttpContext http, IReadOnlyList<DeclaredEntity> entities)
    {
        http.Response.StatusCode = 201;
        http.Response.ContentType = "application/json; charset=utf-8";
        await using var json = new Utf8JsonWriter(http.Response.Body, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
        json.WriteStartObject();
        // Entities come grouped by type (parents first), so each type's object is opened once.
        foreach (var group in entities.GroupBy(e => e.Schema))
        {
            json.WriteStartObject(group.Key.Name);
            foreach (var declared in group)
            {
                json.WriteStartObject(declared.Entity["id"]!.GetValue<string>());
                foreach (var field in group.Key.Fields)
                {
                    if (field.Internal)
                        continue;
                    json.WritePropertyName(field.Name);
                    if (declared.Entity[field.Name] is { } value)
                        value.WriteTo(json);
                    else
                        json.WriteNullValue();
                }
                json.WriteEndObject();
                if (json.BytesPending > 64 * 1024)
                    await json.FlushAsync(http.RequestAborted);
            }
            json.WriteEndObject();
        }
        json.WriteEndObject();
        await json.FlushAsync(http.RequestAborted);
    }

    private static bool IsTrue(string? value) => value?.ToLowerInvariant() is "1" or "true" or "on" or "yes";

    /// <summary>
    /// Kong's code 14. <c>fields</c> groups the problems by entity type, one object per entity (field to
    /// message, entity-wide messages under <c>@entity</c>); <c>flattened_errors</c>, when asked for, lists
    /// each entity with its own errors, in Kong's flattened shape.
    /// </summary>
    private static JsonObject Invalid(DbLessLoad load, bool flatten)
    {
        var fields = new JsonObject();
        var summary = new List<string>();
        foreach (var error in load.Errors)
        {
            summary.AddRange(error.Lines());
            // A problem of the document itself (no _format_version, an unknown collection) sits at the top, as in Kong.
            var entity = error.IsDocumentError ? fields : new JsonObject();
            foreach (var problem in error.Errors)
            {
                if (problem.Field is { } field)
                    entity[field] = problem.Message;
                else
                    (entity["@entity"] as JsonArray ?? (JsonArray)(entity["@entity"] = new JsonArray())).Add(problem.Message);
            }
            if (error.IsDocumentError)
                continue;
            if (fields[error.EntityType] is not JsonArray list)
                fields[error.EntityType] = list = new JsonArray();
            list.Add(entity);
        }
        if (load.Problem is { } problemText)
            summary.Add(problemText);
        var body = AdminJson.Error(14, "invalid declarative configuration", "declarative config is invalid: " + string.Join("; ", summary), fields);
        if (flatten)
            body["flattened_errors"] = new JsonArray(load.Errors.Select(e => (JsonNode)Flattened(e)).ToArray());
        return body;
    }

    private static JsonObject Flattened(DeclarativeError error) => new()
    {
        ["entity_type"] = error.EntityType,
        ["entity_name"] = error.EntityName,
        ["entity_id"] = error.EntityId,
        ["entity_tags"] = error.EntityTags?.DeepClone(),
        ["entity"] = error.Entity?.DeepClone(),
        ["errors"] = new JsonArray(error.Errors.Select(e =>
        {
            var item = new JsonObject { ["type"] = e.Type };
            if (e.Field is not null)
                item["field"] = e.Field;
            item["message"] = e.Message;
            return (JsonNode)item;
        }).ToArray()),
    };

    /// <summary>
    /// The document as Kong takes it: the whole body (YAML or JSON), or its <c>config</c> field (a form
    /// field, a multipart file or value, a JSON string); the options come from the query or the body.
    /// </summary>
    private sealed record PostedDocument(string Text, IReadOnlyDictionary<string, string> BodyOptions, IQueryCollection Query)
    {
        public string? Option(string name) =>
            Query.TryGetValue(name, out var value) ? value.ToString() : BodyOptions.GetValueOrDefault(name);

        public static async Task<PostedDocument> ReadAsync(HttpRequest request, CancellationToken cancellationToken)
        {
            if (request.HttpContext.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
                limit.MaxRequestBodySize = MaxDocumentBytes;
            if (request.ContentLength > MaxDocumentBytes)
                throw new AdminError(413, "Payload too large");
            var mediaType = (request.ContentType ?? "").Split(';')[0].Trim().ToLowerInvariant();
            var options = new Dictionary<string, string>(StringComparer.Ordinal);
            if (mediaType is "application/x-www-form-urlencoded" or "multipart/form-data")
            {
                request.HttpContext.Features.Set<IFormFeature>(new FormFeature(request, new FormOptions
                {
                    ValueLengthLimit = (int)Math.Min(int.MaxValue, MaxDocumentBytes),
                    MultipartBodyLengthLimit = MaxDocumentBytes,
                }));
                IFormCollection form;
                try
                {
                    form = await request.ReadFormAsync(cancellationToken);
                }
                catch (InvalidDataException)
                {
                    throw new AdminError(400, mediaType == "multipart/form-data" ? AdminBodyReader.UnparsableMultipart : AdminBodyReader.UnparsableForm);
                }
                foreach (var (key, value) in form)
                    options[key] = value.ToString();
                var text = options.GetValueOrDefault("config");
                if (text is null && form.Files.GetFile("config") is { } file)
                {
                    using var reader = new StreamReader(file.OpenReadStream(), Encoding.UTF8);
                    text = await reader.ReadToEndAsync(cancellationToken);
                }
                return new PostedDocument(text ?? "", options, request.Query);
            }
            using var buffer = new MemoryStream();
            await request.Body.CopyToAsync(buffer, cancellationToken);
            var raw = Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
            if (mediaType == "application/json" && ConfigField(buffer, options) is { } configField)
                return new PostedDocument(configField, options, request.Query);
            return new PostedDocument(raw, options, request.Query);
        }

        /// <summary>The <c>config</c> string of a JSON body that wraps the document; null when the body is the document.</summary>
        private static string? ConfigField(MemoryStream buffer, Dictionary<string, string> options)
        {
            try
            {
                using var document = JsonDocument.Parse(buffer.GetBuffer().AsMemory(0, (int)buffer.Length));
                if (document.RootElement.ValueKind != JsonValueKind.Object
                    || !document.RootElement.TryGetProperty("config", out var config) || config.ValueKind != JsonValueKind.String)
                    return null;
                foreach (var property in document.RootElement.EnumerateObject())
                {
                    if (property.Value.ValueKind is JsonValueKind.String or JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False)
                        options[property.Name] = property.Value.ValueKind == JsonValueKind.String ? property.Value.GetString()! : property.Value.GetRawText();
                }
                return config.GetString();
            }
            catch (JsonException)
            {
                // Not JSON after all: the loader reports what is wrong with it.
                return null;
            }
        }
    }
}
