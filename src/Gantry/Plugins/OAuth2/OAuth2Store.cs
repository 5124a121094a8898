using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Gantry.Entities;
using Gantry.Entities.Schema;
using Gantry.Store;

namespace Gantry.Plugins.OAuth2;

/// <summary>An access token as the proxy checks it.</summary>
public sealed record OAuth2Token(Guid Id, Guid Credential, Guid? Service, string AccessToken, string? RefreshToken, long ExpiresIn, long CreatedAt,
    string? Scope, string? AuthenticatedUserid, long? Ttl)
{
    /// <summary>Whether the access token no longer opens anything (expires_in 0 never expires).</summary>
    public bool Expired(long now) => ExpiresIn > 0 && CreatedAt + ExpiresIn <= now;

    /// <summary>Whether the row itself is past its time (what a refresh token lives by).</summary>
    public bool Gone(long now) => Ttl is { } ttl && ttl <= now;
}

/// <summary>An authorization code waiting for its token call.</summary>
public sealed record OAuth2Code(Guid Id, Guid Credential, Guid? Service, Guid? Plugin, string? AuthenticatedUserid, string? Scope, string? Challenge, long? Ttl);

/// <summary>
/// The node's way to oauth2's tokens and codes in the database. They are written by requests through the
/// one write path (<see cref="EntityWriter"/>: validation, then the store's transaction with its cluster
/// event), and read by the proxy from the store rather than from a snapshot, so that a token issued by any
/// node of the database is valid on every other at once. Access tokens are cached for a few seconds
/// (absent ones for one), which bounds how long a token deleted through the Admin API of another node
/// still opens its routes here.
/// </summary>
public sealed class OAuth2Store(EntityDao dao, EntityWriter writer)
{
    private const int MaxCached = 100_000;
    private const long FoundMs = 5000;
    private const long MissingMs = 1000;

    private readonly ConcurrentDictionary<string, (OAuth2Token? Token, long Until)> _tokens = new(StringComparer.Ordinal);

    public static long Now => DateTimeOffset.UtcNow.ToUnixTimeSeconds();

    /// <summary>A fresh 32-character token or code.</summary>
    public static string NewSecret() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));

    public async ValueTask<OAuth2Token?> FindTokenAsync(string accessToken, CancellationToken cancellationToken)
    {
        var clock = Environment.TickCount64;
        if (_tokens.TryGetValue(accessToken, out var cached) && cached.Until > clock)
            return cached.Token;
        var row = await dao.FindByFieldAsync(OAuth2Tokens.Schema, OAuth2Tokens.Schema.Find("access_token")!, accessToken, cancellationToken);
        var token = row is null ? null : ReadToken(row);
        if (_tokens.Count >= MaxCached)
            _tokens.Clear();
        _tokens[accessToken] = (token, clock + (token is null ? MissingMs : FoundMs));
        return token;
    }

    public async Task<OAuth2Token?> FindByRefreshTokenAsync(string refreshToken, CancellationToken cancellationToken) =>
        await dao.FindByFieldAsync(OAuth2Tokens.Schema, OAuth2Tokens.Schema.Find("refresh_token")!, refreshToken, cancellationToken) is { } row
            ? ReadToken(row)
            : null;

    /// <summary>Writes a new token; <paramref name="ttl"/> is the row's lifetime in seconds (null: until deleted).</summary>
    public async Task<OAuth2Token> IssueTokenAsync(Guid credential, Guid? service, long expiresIn, string? refreshToken, string? scope, string? authenticatedUserid,
        long? ttl, CancellationToken cancellationToken)
    {
        var input = new JsonObject
        {
            ["credential"] = Reference(credential),
            ["service"] = service is { } s ? Reference(s) : null,
            ["access_token"] = NewSecret(),
            ["refresh_token"] = refreshToken,
            ["expires_in"] = expiresIn,
            ["scope"] = scope,
            ["authenticated_userid"] = authenticatedUserid,
            ["ttl"] = ttl is { } seconds ? Now + seconds : null,
        };
        return ReadToken(await writer.CreateAsync(OAuth2Tokens.Schema, input, lenient: false, cancellationToken));
    }

    /// <summary>Deletes a token that was refreshed; false when another request deleted it first.</summary>
    public async Task<bool> DeleteTokenAsync(OAuth2Token token, CancellationToken cancellationToken)
    {
        _tokens.TryRemove(token.AccessToken, out _);
        return await writer.DeleteAsync(OAuth2Tokens.Schema, token.Id.ToString(), cancellationToken);
    }

    public async Task<string> CreateCodeAsync(Guid credential, Guid? service, Guid plugin, string authenticatedUserid, string? scope, string? challenge,
        CancellationToken cancellationToken)
    {
        var code = NewSecret();
        var input = new JsonObject
        {
            ["credential"] = Reference(credential),
            ["service"] = service is { } s ? Reference(s) : null,
            ["plugin"] = Reference(plugin),
            ["code"] = code,
            ["authenticated_userid"] = authenticatedUserid,
            ["scope"] = scope,
            ["challenge"] = challenge,
            ["challenge_method"] = challenge is null ? null : "S256",
            ["ttl"] = Now + OAuth2AuthorizationCodes.Lifetime,
        };
        await writer.CreateAsync(OAuth2AuthorizationCodes.Schema, input, lenient: false, cancellationToken);
        return code;
    }

    public async Task<OAuth2Code?> FindCodeAsync(string code, CancellationToken cancellationToken)
    {
        var schema = OAuth2AuthorizationCodes.Schema;
        if (await dao.FindByFieldAsync(schema, schema.Find("code")!, code, cancellationToken) is not { } row)
            return null;
        return new OAuth2Code(Guid.Parse(row["id"]!.GetValue<string>()), ReferenceOf(row, "credential")!.Value, ReferenceOf(row, "service"), ReferenceOf(row, "plugin"),
            Text(row, "authenticated_userid"), Text(row, "scope"), Text(row, "challenge"), Integer(row, "ttl"));
    }

    /// <summary>Deletes a code as it is redeemed: of two requests with one code, only the one that deletes it gets a token.</summary>
    public Task<bool> RedeemCodeAsync(OAuth2Code code, CancellationToken cancellationToken) =>
        writer.DeleteAsync(OAuth2AuthorizationCodes.Schema, code.Id.ToString(), cancellationToken);

    private static OAuth2Token ReadToken(JsonObject row) => new(
        Guid.Parse(row["id"]!.GetValue<string>()),
        ReferenceOf(row, "credential")!.Value,
        ReferenceOf(row, "service"),
        row["access_token"]!.GetValue<string>(),
        Text(row, "refresh_token"),
        Integer(row, "expires_in") ?? 0,
        Integer(row, "created_at") ?? 0,
        Text(row, "scope"),
        Text(row, "authenticated_userid"),
        Integer(row, "ttl"));

    private static JsonObject Reference(Guid id) => new() { ["id"] = id.ToString() };

    private static Guid? ReferenceOf(JsonObject row, string field) =>
        row[field]?["id"] is JsonValue id && Guid.TryParse(id.GetValue<string>(), out var value) ? value : null;

    private static string? Text(JsonObject row, string field) => row[field] is JsonValue value && value.TryGetValue(out string? text) ? text : null;

    private static long? Integer(JsonObject row, string field) => row[field] is { } value ? (long)SchemaValidator.ToDouble(value) : null;
}
