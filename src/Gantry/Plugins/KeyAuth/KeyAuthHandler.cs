using System.Collections.Frozen;
using System.Text.Json.Nodes;
using Gantry.Entities.Schema;
using Gantry.Plugins.Pipeline;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Primitives;

namespace Gantry.Plugins.KeyAuth;

/// <summary>
/// Authenticates a consumer by an API key read from a header, the query string or (with
/// <c>key_in_body</c>) a form or JSON body under one of <c>key_names</c>; answers 401 with a <c>WWW-Authenticate: Key</c> challenge, or lets the request
/// through as the anonymous consumer when one is configured.
/// </summary>
public sealed class KeyAuthHandler : AuthenticationHandler
{
    private readonly string[] _keyNames;
    private readonly bool _inHeader;
    private readonly bool _inQuery;
    private readonly bool _hideCredentials;
    private readonly bool _inBody;
    private readonly FrozenDictionary<string, KeyCredential> _keys;
    private readonly FrozenDictionary<Guid, ConsumerInfo> _consumers;

    public KeyAuthHandler(PluginConfig config, PluginSetup setup)
        : base("key-auth", config, setup, config.Text("realm") is { } realm ? $"Key realm=\"{realm}\"" : "Key")
    {
        _keyNames = config.Strings("key_names", ["apikey"]);
        _inHeader = config.Flag("key_in_header", true);
        _inQuery = config.Flag("key_in_query", true);
        _hideCredentials = config.Flag("hide_credentials", false);
        _inBody = config.Flag("key_in_body", false);
        _keys = setup.Shared("key-auth:keys", () => IndexKeys(setup.Entities(KeyAuthCredentials.Schema.Name)));
        _consumers = setup.Consumers;
    }

    private sealed record KeyCredential(Guid Id, Guid Consumer, double? ExpiresAt);

    private static FrozenDictionary<string, KeyCredential> IndexKeys(IReadOnlyList<JsonObject> credentials)
    {
        var keys = new Dictionary<string, KeyCredential>(StringComparer.Ordinal);
        foreach (var credential in credentials)
        {
            var ttl = credential["ttl"] is { } t ? SchemaValidator.ToDouble(t) : 0;
            var created = credential["created_at"] is { } c ? SchemaValidator.ToDouble(c) : 0;
            keys[credential["key"]!.GetValue<string>()] = new KeyCredential(
                Guid.Parse(credential["id"]!.GetValue<string>()),
                Guid.Parse(credential["consumer"]!["id"]!.GetValue<string>()),
                ttl > 0 ? created + ttl : null);
        }
        return keys.ToFrozenDictionary(StringComparer.Ordinal);
    }

    /// <summary>Finds and checks the key; returns the 401 message, or null when the consumer is authenticated.</summary>
    protected override async ValueTask<AuthenticationFailure?> AuthenticateAsync(PluginRequest request)
    {
        var http = request.Http.Request;
        string? key = null;
        RequestBody? body = null;
        foreach (var name in _keyNames)
        {
            var value = _inHeader ? http.Headers[name] : StringValues.Empty;
            var place = value.Count > 0 ? Place.Header : Place.None;
            if (place == Place.None && _inQuery && (value = http.Query[name]).Count > 0)
                place = Place.Query;
            if (place == Place.None && _inBody)
            {
                body ??= await RequestBody.ReadAsync(http);
                if ((value = body.Get(name)).Count > 0)
                    place = Place.Body;
            }
            if (value.Count > 1)
                return "Duplicate API key found";
            if (place == Place.None)
                continue;
            key = value.ToString();
            if (_hideCredentials)
            {
                if (place == Place.Header)
                    http.Headers.Remove(name);
                else if (place == Place.Query)
                    RemoveQueryArgument(http, name);
                else
                    body!.Remove(http, name);
            }
            break;
        }
        if (key is null)
            return "No API key found in request";
        if (!_keys.TryGetValue(key, out var credential)
            || credential.ExpiresAt is { } expires && expires <= DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 1000.0
            || !_consumers.TryGetValue(credential.Consumer, out var consumer))
            return "Unauthorized";
        request.Authenticate(consumer, credential.Id);
        return null;
    }

    private enum Place
    {
        None,
        Header,
        Query,
        Body,
    }

    private static void RemoveQueryArgument(HttpRequest http, string name)
    {
        var query = QueryHelpers.ParseQuery(http.QueryString.Value);
        query.Remove(name);
        http.QueryString = QueryString.Create(query);
    }
}
