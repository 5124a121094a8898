using System.Globalization;
using System.Text.Json.Nodes;
using Gantry.Entities;
using Gantry.Entities.Schema;
using Gantry.Store;

namespace Gantry.Admin;

/// <summary>
/// The generated endpoints of every entity: the collection (<c>/services</c>), the entity by id or
/// endpoint key (<c>/services/{id or name}</c>), the collection under a parent
/// (<c>/services/{s}/routes</c>), an entity under its parent (<c>/services/{s}/routes/{r}</c>), and
/// the parent seen from the child (<c>/routes/{r}/service</c>).
/// </summary>
public sealed class EntityEndpoints(EntityDao dao, EntityWriter writer, EntityRegistry registry)
{
    public const int DefaultPageSize = 100;
    public const int MaxPageSize = 1000;

    /// <summary>Answers the request when its path is an entity endpoint; false when it is not one.</summary>
    public async Task<bool> TryHandleAsync(HttpContext http, string[] segments)
    {
        // HEAD is answered as GET; Kestrel sends the headers and drops the body.
        var method = ReadAsGet(http.Request.Method);
        var ct = http.RequestAborted;
        if (segments.Length == 0 || registry.FindBySegment(segments[0]) is not { } schema)
            return false;
        // Targets and their like exist only under their parent: /targets is not an endpoint.
        if (schema.ExposedOnlyNested)
            return false;
        switch (segments.Length)
        {
            case 1:
                if (HttpMethods.IsGet(method))
                    await ListAsync(http, schema, null, $"/{segments[0]}", ct);
                else if (HttpMethods.IsPost(method))
                    await CreateAsync(http, schema, null, ct);
                else
                    throw MethodNotAllowed();
                return true;
            case 2:
                await EntityAsync(http, schema, segments[1], null, ct);
                return true;
            case 3 or 4:
                var parent = await dao.GetAsync(schema, segments[1], ct) ?? throw NotFound();
                if (segments.Length == 3 && schema.Find(segments[2]) is { Kind: FieldKind.Foreign } foreignField && registry.Find(foreignField.Reference!) is not null)
                {
                    await ReferencedAsync(http, schema, parent, foreignField, ct);
                    return true;
                }
                var child = ChildCollection(schema, segments[2]);
                if (child is null)
                    return false;
                var (childSchema, field) = child.Value;
                var parentId = parent["id"]!.GetValue<string>();
                if (segments.Length == 3)
                {
                    if (HttpMethods.IsGet(method))
                        await ListAsync(http, childSchema, (field, parentId), $"/{segments[0]}/{segments[1]}/{segments[2]}", ct);
                    else if (HttpMethods.IsPost(method))
                        await CreateAsync(http, childSchema, (field, parentId), ct);
                    else
                        throw MethodNotAllowed();
                }
                else
                {
                    await EntityAsync(http, childSchema, segments[3], (field, parentId), ct);
                }
                return true;
            default:
                return false;
        }
    }

    /// <summary>The ?size= of a list request: 100 when absent, Kong's 400 "invalid size" outside 1..1000.</summary>
    public static int PageSize(IQueryCollection query)
    {
        var size = DefaultPageSize;
        if (query.TryGetValue("size", out var sizeText))
        {
            if (!int.TryParse(sizeText, NumberStyles.None, CultureInfo.InvariantCulture, out size) || size < 1 || size > MaxPageSize)
                throw Entity(new EntityException(400, 9, "invalid size", $"size must be an integer between 1 and {MaxPageSize}"));
        }
        return size;
    }

    private static string ReadAsGet(string method) => HttpMethods.IsHead(method) ? HttpMethods.Get : method;

    private static readonly string[] CollectionMethods = ["GET", "HEAD", "POST", "OPTIONS"];
    private static readonly string[] EntityMethods = ["GET", "HEAD", "PUT", "PATCH", "DELETE", "OPTIONS"];
    private static readonly string[] ReferenceMethods = ["GET", "HEAD", "PUT", "PATCH", "OPTIONS"];

    /// <summary>The methods an entity path answers, judged from its shape alone (no lookup); null when it is not one.</summary>
    public string[]? AllowedMethods(string[] segments)
    {
        if (segments.Length == 0 || registry.FindBySegment(segments[0]) is not { } schema)
            return null;
        switch (segments.Length)
        {
            case 1:
                return CollectionMethods;
            case 2:
                return EntityMethods;
            case 3 when schema.Find(segments[2]) is { Kind: FieldKind.Foreign } field && registry.Find(field.Reference!) is not null:
                return ReferenceMethods;
            case 3 or 4 when ChildCollection(schema, segments[2]) is not null:
                return segments.Length == 3 ? CollectionMethods : EntityMethods;
            default:
                return null;
        }
    }

    /// <summary>Every generated path, in Kong's notation: <c>/services/{services}/routes/{routes}</c>.</summary>
    public IEnumerable<string> Templates()
    {
        foreach (var schema in registry.All)
        {
            var collection = "/" + schema.UrlSegment;
            yield return collection;
            var entity = $"{collection}/{{{schema.UrlSegment}}}";
            yield return entity;
            // A reference to an entity this node does not serve (yet) has no endpoint.
            foreach (var field in schema.ForeignFields.Where(f => registry.Find(f.Reference!) is not null))
                yield return $"{entity}/{field.Name}";
            foreach (var (child, _) in registry.ChildrenOf(schema.Name))
            {
                var nested = child.NestedPath ?? child.UrlSegment;
                yield return $"{entity}/{nested}";
                yield return $"{entity}/{nested}/{{{child.UrlSegment}}}";
            }
        }
    }

    private (EntitySchema Schema, Field Field)? ChildCollection(EntitySchema parent, string segment)
    {
        foreach (var (child, field) in registry.ChildrenOf(parent.Name))
        {
            if ((child.NestedPath ?? child.UrlSegment) == segment)
                return (child, field);
        }
        return null;
    }

    private async Task ListAsync(HttpContext http, EntitySchema schema, (Field Field, string Id)? parent, string basePath, CancellationToken ct)
    {
        var query = http.Request.Query;
        foreach (var filter in schema.ListFilters)
        {
            if (query.TryGetValue(filter, out var wanted))
            {
                await ExactLookupAsync(http, schema, filter, wanted.ToString(), parent, ct);
                return;
            }
        }
        var size = PageSize(query);
        var (tags, any) = ParseTags(schema, query["tags"].ToString());
        var descending = query.TryGetValue("sort_desc", out var desc) && desc.ToString() is "1" or "true";
        var page = await dao.PageAsync(schema, new PageRequest(size, query["offset"].ToString(), tags, any,
            parent is { } p ? (p.Field.Column, p.Id) : null, descending), ct);
        var data = new JsonArray(page.Data.Select(e => (JsonNode)AdminJson.Present(schema, e)).ToArray());
        var body = new JsonObject { ["data"] = data };
        if (page.Offset is { } offset)
        {
            body["offset"] = offset;
            var next = $"{basePath}?offset={Uri.EscapeDataString(offset)}&size={size}";
            if (query.TryGetValue("tags", out var tagFilter))
                next += $"&tags={Uri.EscapeDataString(tagFilter.ToString())}";
            if (descending)
                next += "&sort_desc=1";
            body["next"] = next;
        }
        else
        {
            body["next"] = null;
        }
        await AdminJson.WriteAsync(http, 200, body);
    }

    /// <summary><c>/consumers?custom_id=X</c>: a one-page list holding the entity with that value, or empty.</summary>
    private async Task ExactLookupAsync(HttpContext http, EntitySchema schema, string fieldName, string value, (Field Field, string Id)? parent, CancellationToken ct)
    {
        var found = await dao.FindByFieldAsync(schema, schema.Find(fieldName)!, value, ct);
        if (found is not null && parent is { } p && found[p.Field.Name]?["id"]?.GetValue<string>() != p.Id)
            found = null;
        var data = new JsonArray();
        if (found is not null)
            data.Add(AdminJson.Present(schema, found));
        await AdminJson.WriteAsync(http, 200, new JsonObject { ["data"] = data, ["next"] = null });
    }

    private static (IReadOnlyList<string> Tags, bool Any) ParseTags(EntitySchema schema, string filter)
    {
        if (filter.Length == 0)
            return ([], false);
        if (!schema.Taggable)
            throw InvalidOption($"tags: cannot be used with '{schema.Name}'");
        var hasAnd = filter.Contains(',');
        var hasOr = filter.Contains('/');
        if (hasAnd && hasOr)
            throw InvalidOption("tags: invalid filter syntax");
        var tags = filter.Split(hasOr ? '/' : ',');
        // Control characters cannot be in a stored tag, and PostgreSQL refuses NUL in a text parameter.
        if (tags.Any(t => t.Length == 0 || t.Any(char.IsControl)))
            throw InvalidOption("tags: invalid filter syntax");
        if (tags.Length > 5)
            throw InvalidOption("tags: cannot query more than 5 tags");
        return (tags, hasOr);
    }

    private static AdminError InvalidOption(string message) =>
        Entity(new EntityException(400, 11, "invalid options", $"invalid option ({message})", new JsonObject { ["tags"] = message[(message.IndexOf(':') + 2)..] }));

    private async Task CreateAsync(HttpContext http, EntitySchema schema, (Field Field, string Id)? parent, CancellationToken ct)
    {
        var body = await AdminBodyReader.ReadAsync(http.Request, ct);
        var input = body.Fields;
        if (parent is { } p)
            input[p.Field.Name] = new JsonObject { ["id"] = p.Id };
        await AdminJson.WriteAsync(http, 201, AdminJson.Present(schema, await Guard(() => writer.CreateAsync(schema, input, body.Lenient, ct), parent?.Field)));
    }

    private async Task EntityAsync(HttpContext http, EntitySchema schema, string idOrKey, (Field Field, string Id)? parent, CancellationToken ct)
    {
        var method = ReadAsGet(http.Request.Method);
        var existing = await dao.GetAsync(schema, idOrKey, ct, parent is { } scope ? (scope.Field.Column, scope.Id) : null);
        if (existing is not null && parent is { } owner && existing[owner.Field.Name]?["id"]?.GetValue<string>() != owner.Id)
            existing = null;
        if (HttpMethods.IsGet(method))
        {
            await AdminJson.WriteAsync(http, existing is null ? 404 : 200, existing is null ? NotFoundBody : AdminJson.Present(schema, existing));
        }
        else if (HttpMethods.IsDelete(method))
        {
            if (existing is not null)
                await Guard(() => writer.DeleteAsync(schema, existing["id"]!.GetValue<string>(), ct, KeyNamed(schema, idOrKey)));
            await AdminJson.WriteAsync(http, 204, null);
        }
        else if (HttpMethods.IsPatch(method))
        {
            if (existing is null)
                throw NotFound();
            var body = await AdminBodyReader.ReadAsync(http.Request, ct);
            await AdminJson.WriteAsync(http, 200, AdminJson.Present(schema, await Guard(() => writer.UpdateAsync(schema, body.Fields, existing, body.Lenient, ct, KeyNamed(schema, idOrKey)))));
        }
        else if (HttpMethods.IsPut(method))
        {
            var body = await AdminBodyReader.ReadAsync(http.Request, ct);
            var input = body.Fields;
            // PUT /services/{uuid} creates or replaces that id; PUT /services/{name} writes the name onto the entity.
            if (Guid.TryParse(idOrKey, out _) && existing is null)
                input["id"] = idOrKey;
            else
                input["id"] = existing?["id"]?.DeepClone() ?? Guid.NewGuid().ToString();
            if (!Guid.TryParse(idOrKey, out _) && schema.EndpointKey is { } key)
                input[key] = idOrKey;
            if (parent is { } p)
                input[p.Field.Name] = new JsonObject { ["id"] = p.Id };
            await AdminJson.WriteAsync(http, 200, AdminJson.Present(schema, await Guard(() => writer.ReplaceAsync(schema, input, existing, body.Lenient, ct, KeyNamed(schema, idOrKey)), parent?.Field)));
        }
        else
        {
            throw MethodNotAllowed();
        }
    }

    /// <summary>The endpoint key the URL named the entity by, or null when it named the id.</summary>
    private static string? KeyNamed(EntitySchema schema, string idOrKey) => Guid.TryParse(idOrKey, out _) ? null : schema.EndpointKey;

    /// <summary><c>/routes/{r}/service</c>: the entity a reference points at.</summary>
    private async Task ReferencedAsync(HttpContext http, EntitySchema schema, JsonObject child, Field field, CancellationToken ct)
    {
        var reference = child[field.Name]?["id"]?.GetValue<string>();
        if (HttpMethods.IsDelete(http.Request.Method))
            throw MethodNotAllowed();
        var parentSchema = registry.Get(field.Reference!);
        var target = reference is null ? null : await dao.GetAsync(parentSchema, reference, ct);
        if (target is null)
            throw NotFound();
        await EntityAsync(http, parentSchema, reference!, null, ct);
    }

    /// <param name="urlParent">The reference the URL sets (/services/{s}/routes): when that parent is gone, the answer is 404.</param>
    private static async Task<T> Guard<T>(Func<Task<T>> write, Field? urlParent = null)
    {
        try
        {
            return await write();
        }
        catch (EntityException e) when (e.Code == 4 && urlParent is not null && e.Fields?[urlParent.Name] is not null)
        {
            throw NotFound();
        }
        catch (EntityException e)
        {
            throw Entity(e);
        }
    }

    public static AdminError Entity(EntityException e) => e.Status == 404 ? NotFound() : new(e.Status, e.Message, AdminJson.Error(e.Code, e.Name, e.Message, e.Fields));

    private static JsonObject NotFoundBody => new() { ["message"] = "Not found" };

    public static AdminError NotFound() => new(404, "Not found");

    public static AdminError MethodNotAllowed() => new(405, "Method not allowed");
}
