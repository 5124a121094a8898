using Gantry.Plugins.Pipeline;
using Microsoft.AspNetCore.WebUtilities;

namespace Gantry.Plugins.OAuth2;

/// <summary>
/// oauth2 on a route: a POST to a path ending in <c>/oauth2/authorize</c> or <c>/oauth2/token</c> is
/// answered by the instance's authorization server (<see cref="OAuth2Endpoints"/>); any other request
/// must carry a valid access token (Authorization: Bearer, or access_token in the query or a form or
/// JSON body), which identifies the application's consumer, its scope and its authenticated user upstream.
/// </summary>
public sealed class OAuth2Handler : AuthenticationHandler
{
    private const string InvalidToken = "The access token is invalid or has expired";

    private readonly OAuth2Settings _settings;
    private readonly OAuth2Clients _clients;
    private readonly OAuth2Store? _store;
    private readonly OAuth2Endpoints _endpoints;
    private readonly IReadOnlyDictionary<Guid, ConsumerInfo> _consumers;

    public OAuth2Handler(PluginConfig config, PluginSetup setup)
        : base("oauth2", config, setup, $"Bearer realm=\"{config.Text("realm") ?? "service"}\"")
    {
        _settings = OAuth2Settings.From(config);
        _clients = setup.Shared("oauth2:clients", () => new OAuth2Clients(setup.Entities(OAuth2Credentials.Schema.Name)));
        _store = setup.Node.OAuth2;
        _endpoints = new OAuth2Endpoints(_settings, _clients, _store, setup.Logger);
        _consumers = setup.Consumers;
    }

    protected override async ValueTask<AuthenticationFailure?> AuthenticateAsync(PluginRequest request)
    {
        var http = request.Http.Request;
        if (HttpMethods.IsPost(http.Method) && http.Path.Value is { } path)
        {
            if (path.EndsWith("/oauth2/token", StringComparison.Ordinal))
            {
                await _endpoints.TokenAsync(request);
                return null;
            }
            if (path.EndsWith("/oauth2/authorize", StringComparison.Ordinal))
            {
                await _endpoints.AuthorizeAsync(request);
                return null;
            }
        }
        // What the client says about its own scope and user is never passed on.
        http.Headers.Remove("X-Authenticated-Scope");
        http.Headers.Remove("X-Authenticated-Userid");

        var accessToken = await TakeAccessTokenAsync(http);
        if (accessToken is null)
            return Failure("invalid_request", "The access token is missing", challengeError: false);
        var token = _store is null ? null : await _store.FindTokenAsync(accessToken, request.Http.RequestAborted);
        if (token is null || token.Expired(OAuth2Store.Now) || !ValidHere(token, request.ServiceId)
            || _clients.ById(token.Credential) is not { } client || !_consumers.TryGetValue(client.Consumer, out var consumer))
            return Failure("invalid_token", InvalidToken, challengeError: true);
        request.Authenticate(consumer, client.Id);
        if (token.Scope is not null)
            http.Headers["X-Authenticated-Scope"] = token.Scope;
        if (token.AuthenticatedUserid is not null)
            http.Headers["X-Authenticated-Userid"] = token.AuthenticatedUserid;
        return null;
    }

    /// <summary>A token issued for a service opens only that service; one issued with global_credentials, any instance that has it too.</summary>
    private bool ValidHere(OAuth2Token token, Guid? service) =>
        token.Service is { } issuedFor ? issuedFor == service : _settings.GlobalCredentials;

    private AuthenticationFailure Failure(string error, string description, bool challengeError) => new(description)
    {
        Errors = new Dictionary<string, string> { ["error"] = error, ["error_description"] = description },
        Challenge = challengeError ? $"Bearer realm=\"{_settings.Realm}\" error=\"{error}\" error_description=\"{description}\"" : null,
    };

    /// <summary>The access token from the query, the auth header (Bearer) or a form or JSON body, removed from it with hide_credentials.</summary>
    private async ValueTask<string?> TakeAccessTokenAsync(HttpRequest http)
    {
        if (http.Query["access_token"] is { Count: > 0 } query && !string.IsNullOrEmpty(query[0]))
        {
            if (_settings.HideCredentials)
            {
                var rest = QueryHelpers.ParseQuery(http.QueryString.Value);
                rest.Remove("access_token");
                http.QueryString = QueryString.Create(rest);
            }
            return query[0];
        }
        var header = http.Headers[_settings.AuthHeaderName].ToString();
        if (header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) && header[7..].Trim() is { Length: > 0 } bearer)
        {
            if (_settings.HideCredentials)
                http.Headers.Remove(_settings.AuthHeaderName);
            return bearer;
        }
        var body = await RequestBody.ReadAsync(http);
        if (body.Get("access_token") is { Count: > 0 } field && !string.IsNullOrEmpty(field[0]))
        {
            if (_settings.HideCredentials)
                body.Remove(http, "access_token");
            return field[0];
        }
        return null;
    }
}
