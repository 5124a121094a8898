using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Gantry.Plugins.Pipeline;
using Gantry.Store;

namespace Gantry.Plugins.OAuth2;

/// <summary>
/// The authorization server of one oauth2 instance: <c>POST …/oauth2/authorize</c>, which the
/// application's backend calls once its user consented (provision_key and authenticated_userid), and
/// <c>POST …/oauth2/token</c>, which the client calls for a token. Answers carry RFC 6749's error codes
/// with Kong's descriptions; nothing is ever forwarded upstream.
/// </summary>
public sealed class OAuth2Endpoints(OAuth2Settings settings, OAuth2Clients clients, OAuth2Store? store, ILogger logger)
{
    private const string InvalidClient = "Invalid client authentication";
    private const string InvalidRedirect = "Invalid redirect_uri that does not match with any redirect_uri created with the application";

    /// <summary>An error answer: RFC 6749's code, a description, and its status.</summary>
    private sealed record Refusal(string Error, string Description, int Status = 400, string? Challenge = null);

    public async ValueTask AuthorizeAsync(PluginRequest request)
    {
        var parameters = await OAuth2Parameters.ReadAsync(request.Http.Request);
        var answer = new SortedDictionary<string, string>(StringComparer.Ordinal);
        string? redirectUri = null;
        var implicitGrant = false;
        var refusal = RefusePlainHttp(request);
        if (refusal is null && (parameters["provision_key"] is not { } key || !FixedTimeEquals(key, settings.ProvisionKey)))
            refusal = new("invalid_provision_key", "Invalid provision_key");
        var userid = parameters["authenticated_userid"];
        if (refusal is null && userid is null)
            refusal = new("invalid_authenticated_userid", "Missing authenticated_userid parameter");
        if (refusal is null)
        {
            var client = clients.ByClientId(parameters["client_id"]);
            var responseType = parameters["response_type"];
            if (client is null)
                refusal = new("invalid_client", InvalidClient);
            else if ((redirectUri = parameters["redirect_uri"] ?? client.RedirectUris.FirstOrDefault()) is null || !client.RedirectUris.Contains(redirectUri))
            {
                // Never send the user to an address the application did not register.
                redirectUri = null;
                refusal = new("invalid_request", InvalidRedirect);
            }
            else if (!(responseType == "code" && settings.EnableAuthorizationCode || responseType == "token" && settings.EnableImplicitGrant))
                refusal = new("unsupported_response_type", "Invalid response_type");
            else if (Scope(parameters, out var scope) is { } scopeRefusal)
                refusal = scopeRefusal;
            else if (responseType == "code")
            {
                var challenge = parameters["code_challenge"];
                var method = parameters["code_challenge_method"];
                if (challenge is null && client.Public)
                    refusal = new("invalid_request", "code_challenge is required for public clients");
                else if (challenge is null && settings.Pkce == "strict")
                    refusal = new("invalid_request", "code_challenge is required when pkce is strict");
                else if (challenge is not null && method is not null && method != "S256")
                    refusal = new("invalid_request", "code_challenge_method is not supported, must be S256");
                else if (await WriteAsync(request, () => store!.CreateCodeAsync(client.Id, ServiceOf(request), settings.PluginId, userid!, scope, challenge,
                    request.Http.RequestAborted)) is { } code)
                    answer["code"] = code;
                else
                    return;
            }
            else
            {
                implicitGrant = true;
                if (await WriteAsync(request, () => store!.IssueTokenAsync(client.Id, ServiceOf(request), settings.TokenExpiration, null, scope, userid,
                    settings.TokenRowTtl(withRefresh: false), request.Http.RequestAborted)) is not { } token)
                    return;
                answer["access_token"] = token.AccessToken;
                answer["token_type"] = "bearer";
                answer["expires_in"] = token.ExpiresIn.ToString(System.Globalization.CultureInfo.InvariantCulture);
            }
        }
        if (refusal is not null)
        {
            answer["error"] = refusal.Error;
            answer["error_description"] = refusal.Description;
        }
        if (parameters["state"] is { } state)
            answer["state"] = state;
        var status = refusal?.Status ?? 200;
        if (redirectUri is null)
        {
            Answer(request, status, JsonSerializer.SerializeToUtf8Bytes(answer));
            return;
        }
        // The code goes in the query, an implicit grant's token in the fragment, which browsers never send on.
        var separator = implicitGrant ? "#" : redirectUri.Contains('?') ? "&" : "?";
        var query = QueryString.Create(answer.Select(p => KeyValuePair.Create(p.Key, (string?)p.Value))).ToUriComponent()[1..];
        Answer(request, status, JsonSerializer.SerializeToUtf8Bytes(new { redirect_uri = redirectUri + separator + query }));
    }

    public async ValueTask TokenAsync(PluginRequest request)
    {
        var parameters = await OAuth2Parameters.ReadAsync(request.Http.Request);
        var refusal = RefusePlainHttp(request);
        var grant = parameters["grant_type"];
        if (refusal is null && !(grant is "authorization_code" or "refresh_token"
                || grant == "client_credentials" && settings.EnableClientCredentials
                || grant == "password" && settings.EnablePasswordGrant))
            refusal = new("unsupported_grant_type", "Invalid grant_type");
        OAuth2Token? token = null;
        if (refusal is null)
            (token, refusal) = await GrantAsync(request, parameters, grant!);
        if (request.ExitStatus != 0)
            return;
        var answer = new JsonObject();
        if (refusal is not null)
        {
            answer["error"] = refusal.Error;
            answer["error_description"] = refusal.Description;
            if (refusal.Challenge is not null)
                request.SetResponseHeader("WWW-Authenticate", refusal.Challenge);
        }
        else
        {
            answer["access_token"] = token!.AccessToken;
            answer["token_type"] = "bearer";
            answer["expires_in"] = token.ExpiresIn;
            if (token.RefreshToken is not null)
                answer["refresh_token"] = token.RefreshToken;
        }
        if (parameters["state"] is { } state)
            answer["state"] = state;
        Answer(request, refusal?.Status ?? 200, JsonSerializer.SerializeToUtf8Bytes(answer));
    }

    private async Task<(OAuth2Token?, Refusal?)> GrantAsync(PluginRequest request, OAuth2Parameters parameters, string grant)
    {
        var (clientId, secret, fromHeader) = ClientCredentials(request.Http.Request, parameters);
        var client = clients.ByClientId(clientId);
        var badClient = new Refusal("invalid_client", InvalidClient, fromHeader ? 401 : 400, fromHeader ? "Basic realm=\"OAuth2.0\"" : null);
        if (client is null)
            return (null, badClient);
        if (grant != "client_credentials" && parameters["redirect_uri"] is { } redirect && !client.RedirectUris.Contains(redirect))
            return (null, new("invalid_request", InvalidRedirect));
        // A public client cannot keep a secret: PKCE's verifier stands for it when it exchanges a code.
        var secretless = client.Public && grant == "authorization_code" && secret is null;
        if (!secretless && !OAuth2Secret.Matches(client.Secret, secret))
            return (null, badClient);
        var cancel = request.Http.RequestAborted;
        var service = ServiceOf(request);
        switch (grant)
        {
            case "authorization_code":
            {
                var code = parameters["code"] is { } value ? await store!.FindCodeAsync(value, cancel) : null;
                if (code is null || code.Ttl is { } ttl && ttl <= OAuth2Store.Now || code.Plugin is { } plugin && plugin != settings.PluginId
                    || !settings.GlobalCredentials && code.Service != service || code.Credential != client.Id)
                    return (null, new("invalid_request", "Invalid code"));
                var verifier = parameters["code_verifier"];
                var checkPkce = code.Challenge is not null && !(settings.Pkce == "none" && !client.Public) || client.Public || settings.Pkce == "strict";
                if (checkPkce && verifier is null)
                    return (null, new("invalid_request", "code_verifier is required for PKCE authorization requests"));
                if (checkPkce && (code.Challenge is null || !FixedTimeEquals(Base64Url.EncodeToString(SHA256.HashData(Encoding.ASCII.GetBytes(verifier!))), code.Challenge)))
                    return (null, new("invalid_grant", "code_verifier is invalid"));
                if (!await RedeemAsync(request, () => store!.RedeemCodeAsync(code, cancel)))
                    return (null, request.ExitStatus != 0 ? null : new("invalid_request", "Invalid code"));
                return (await IssueAsync(request, client, code.Scope, code.AuthenticatedUserid, withRefresh: true, null), null);
            }
            case "client_credentials":
            {
                if (Scope(parameters, out var scope) is { } scopeRefusal)
                    return (null, scopeRefusal);
                var userid = parameters["authenticated_userid"];
                if (userid is not null && (parameters["provision_key"] is not { } key || !FixedTimeEquals(key, settings.ProvisionKey)))
                    return (null, new("invalid_provision_key", "Invalid provision_key"));
                return (await IssueAsync(request, client, scope, userid, withRefresh: false, null), null);
            }
            case "password":
            {
                if (parameters["provision_key"] is not { } key || !FixedTimeEquals(key, settings.ProvisionKey))
                    return (null, new("invalid_provision_key", "Invalid provision_key"));
                if (parameters["authenticated_userid"] is not { } userid)
                    return (null, new("invalid_authenticated_userid", "Missing authenticated_userid parameter"));
                if (Scope(parameters, out var scope) is { } scopeRefusal)
                    return (null, scopeRefusal);
                return (await IssueAsync(request, client, scope, userid, withRefresh: true, null), null);
            }
            default:
            {
                var old = parameters["refresh_token"] is { } value ? await store!.FindByRefreshTokenAsync(value, cancel) : null;
                if (old is null || old.Gone(OAuth2Store.Now) || !settings.GlobalCredentials && old.Service != service)
                    return (null, new("invalid_request", "Invalid refresh_token"));
                if (old.Credential != client.Id)
                    return (null, badClient);
                // The old token goes first, so that one refresh token is redeemed once however many requests race.
                if (!await RedeemAsync(request, () => store!.DeleteTokenAsync(old, cancel)))
                    return (null, request.ExitStatus != 0 ? null : new("invalid_request", "Invalid refresh_token"));
                return (await IssueAsync(request, client, old.Scope, old.AuthenticatedUserid, withRefresh: true,
                    settings.ReuseRefreshToken ? old.RefreshToken : null), null);
            }
        }
    }

    private async Task<OAuth2Token?> IssueAsync(PluginRequest request, OAuth2Client client, string? scope, string? userid, bool withRefresh, string? refreshToken) =>
        await WriteAsync(request, () => store!.IssueTokenAsync(client.Id, ServiceOf(request), settings.TokenExpiration,
            withRefresh ? refreshToken ?? OAuth2Store.NewSecret() : null, scope, userid, settings.TokenRowTtl(withRefresh), request.Http.RequestAborted));

    /// <summary>Plain HTTP is refused unless TLS ended before Gantry and the flag says to believe X-Forwarded-Proto, as in Kong.</summary>
    private Refusal? RefusePlainHttp(PluginRequest request)
    {
        var http = request.Http.Request;
        if (http.IsHttps)
            return null;
        if (settings.AcceptHttpIfAlreadyTerminated && string.Equals(http.Headers["X-Forwarded-Proto"].ToString(), "https", StringComparison.OrdinalIgnoreCase))
            return null;
        return new("access_denied", "You must use HTTPS");
    }

    /// <summary>The requested scopes, space-separated, each one of the configured ones; mandatory_scope requires one.</summary>
    private Refusal? Scope(OAuth2Parameters parameters, out string? scope)
    {
        scope = null;
        var granted = new List<string>();
        if (settings.Scopes is { } allowed && parameters["scope"] is { } requested)
        {
            foreach (var name in requested.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            {
                if (!allowed.Contains(name))
                    return new("invalid_scope", $"\"{name}\" is an invalid scope");
                granted.Add(name);
            }
        }
        if (settings.MandatoryScope && granted.Count == 0)
            return new("invalid_scope", "You must specify a scope");
        scope = granted.Count == 0 ? null : string.Join(' ', granted);
        return null;
    }

    /// <summary>The client's id and secret: from a Basic authorization header, else from the parameters.</summary>
    private (string? Id, string? Secret, bool FromHeader) ClientCredentials(HttpRequest http, OAuth2Parameters parameters)
    {
        var header = http.Headers[settings.AuthHeaderName].ToString();
        if (header.StartsWith("Basic ", StringComparison.OrdinalIgnoreCase))
        {
            try
            {
                var decoded = Encoding.UTF8.GetString(Convert.FromBase64String(header[6..].Trim()));
                var colon = decoded.IndexOf(':');
                if (colon > 0)
                    return (decoded[..colon], decoded[(colon + 1)..], true);
            }
            catch (FormatException)
            {
            }
        }
        return (parameters["client_id"], parameters["client_secret"], false);
    }

    private Guid? ServiceOf(PluginRequest request) => settings.GlobalCredentials ? null : request.ServiceId;

    /// <summary>Runs a write of the store; a node that cannot write (no database) or a failing database answers 500.</summary>
    private async Task<T?> WriteAsync<T>(PluginRequest request, Func<Task<T>> write) where T : class
    {
        if (store is null)
        {
            request.Exit(500, "An unexpected error occurred");
            return null;
        }
        try
        {
            return await write();
        }
        catch (EntityException e) when (e.Status == 405)
        {
            logger.LogError("oauth2: cannot issue tokens or codes on a node without a database (database = off, or a data plane)");
        }
        catch (Exception e) when (e is EntityException or DatabaseUnavailableException or System.Data.Common.DbException)
        {
            logger.LogError(e, "oauth2: the store refused a token or code");
        }
        request.Exit(500, "An unexpected error occurred");
        return null;
    }

    private async Task<bool> RedeemAsync(PluginRequest request, Func<Task<bool>> delete) =>
        await WriteAsync(request, async () => (object)await delete()) is true;

    private static void Answer(PluginRequest request, int status, byte[] body)
    {
        request.SetResponseHeader("Cache-Control", "no-store");
        request.SetResponseHeader("Pragma", "no-cache");
        request.Exit(status, body, "application/json; charset=utf-8");
    }

    private static bool FixedTimeEquals(string a, string b) =>
        CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(a), Encoding.UTF8.GetBytes(b));
}
