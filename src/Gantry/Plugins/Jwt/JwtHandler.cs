using System.Collections.Frozen;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Gantry.Plugins.Pipeline;

namespace Gantry.Plugins.Jwt;

/// <summary>
/// Authenticates a consumer by a signed JSON Web Token found in the query string, a cookie or a
/// <c>Bearer</c> header. The claim named by <c>key_claim_name</c> picks one of the jwt_secrets; the
/// token's algorithm must be that secret's, its signature must verify with the secret (HS*) or the
/// public key (RS*, PS*, ES*), and the claims listed in <c>claims_to_verify</c> must hold.
/// </summary>
public sealed partial class JwtHandler : AuthenticationHandler
{
    private readonly string[] _queryNames;
    private readonly string[] _cookieNames;
    private readonly string[] _headerNames;
    private readonly string _keyClaim;
    private readonly bool _secretIsBase64;
    private readonly bool _verifyExp;
    private readonly bool _verifyNbf;
    private readonly long _maximumExpiration;
    private readonly string _challengeWithError;
    private readonly FrozenDictionary<string, JwtSecret> _secrets;
    private readonly FrozenDictionary<Guid, ConsumerInfo> _consumers;

    public JwtHandler(PluginConfig config, PluginSetup setup)
        : base("jwt", config, setup, Challenge(config))
    {
        _queryNames = config.Strings("uri_param_names", ["jwt"]);
        _cookieNames = config.Strings("cookie_names", []);
        _headerNames = config.Strings("header_names", ["authorization"]);
        _keyClaim = config.Text("key_claim_name") ?? "iss";
        _secretIsBase64 = config.Flag("secret_is_base64", false);
        var claims = config.Strings("claims_to_verify", []);
        _verifyExp = claims.Contains("exp");
        _verifyNbf = claims.Contains("nbf");
        _maximumExpiration = (long)config.Number("maximum_expiration", 0);
        // Every failure but a missing token tells the client its token was refused (RFC 6750 section 3).
        _challengeWithError = Challenge(config) + " error=\"invalid_token\"";
        _secrets = setup.Shared("jwt:secrets", () => IndexSecrets(setup.Entities(JwtSecrets.Schema.Name)));
        _consumers = setup.Consumers;
    }

    private static string Challenge(PluginConfig config) => config.Text("realm") is { } realm ? $"Bearer realm=\"{realm}\"" : "Bearer";

    private sealed record JwtSecret(Guid Id, Guid Consumer, string Key, string Algorithm, string? Secret, string? PublicKey);

    private static FrozenDictionary<string, JwtSecret> IndexSecrets(IReadOnlyList<JsonObject> rows)
    {
        var secrets = new Dictionary<string, JwtSecret>(StringComparer.Ordinal);
        foreach (var row in rows)
        {
            var key = row["key"]!.GetValue<string>();
            secrets[key] = new JwtSecret(
                Guid.Parse(row["id"]!.GetValue<string>()),
                Guid.Parse(row["consumer"]!["id"]!.GetValue<string>()),
                key,
                row["algorithm"]?.GetValue<string>() ?? "HS256",
                row["secret"]?.GetValue<string>(),
                row["rsa_public_key"]?.GetValue<string>());
        }
        return secrets.ToFrozenDictionary(StringComparer.Ordinal);
    }

    protected override AuthenticationFailure? Authenticate(PluginRequest request)
    {
        var tokens = FindTokens(request.Http.Request);
        if (tokens.Count == 0)
            return "Unauthorized";
        if (tokens.Count > 1)
            return Refuse("Multiple tokens provided");
        var token = tokens.First();
        if (DecodedToken.Parse(token, out var error) is not { } jwt)
            return Refuse("Bad token; " + error);

        var key = ClaimText(jwt.Payload[_keyClaim]) ?? ClaimText(jwt.Header[_keyClaim]);
        if (key is null)
            return Refuse($"No mandatory '{_keyClaim}' in claims");
        if (key.Length == 0)
            return Refuse($"Invalid '{_keyClaim}' in claims");
        if (!_secrets.TryGetValue(key, out var secret))
            return Refuse($"No credentials found for given '{_keyClaim}'");
        if (jwt.Algorithm != secret.Algorithm)
            return Refuse("Invalid algorithm");
        if (VerificationKey(secret) is not { } verificationKey)
            return Refuse("Invalid key/secret");
        if (!jwt.SignatureVerifies(verificationKey))
            return Refuse("Invalid signature");

        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        if (ClaimErrors(jwt.Payload, now) is { } errors)
            return new AuthenticationFailure("Invalid claims") { Challenge = _challengeWithError, Errors = errors };
        if (_maximumExpiration > 0 && (Number(jwt.Payload["exp"]) is not { } exp || exp - now > _maximumExpiration))
        {
            return new AuthenticationFailure("Invalid claims")
            {
                Status = 403,
                Challenge = _challengeWithError,
                Errors = new Dictionary<string, string> { ["exp"] = "exceeds maximum allowed expiration" },
            };
        }

        if (!_consumers.TryGetValue(secret.Consumer, out var consumer))
            return Refuse($"Could not find consumer for '{_keyClaim}={key}'");
        request.Authenticate(consumer, secret.Id, secret.Key);
        return null;
    }

    private AuthenticationFailure Refuse(string message) => new(message) { Challenge = _challengeWithError };

    /// <summary>The distinct non-empty tokens of the request; Kong refuses several different ones, not the same one twice.</summary>
    private HashSet<string> FindTokens(HttpRequest http)
    {
        var tokens = new HashSet<string>(StringComparer.Ordinal);
        foreach (var name in _queryNames)
        {
            foreach (var value in http.Query[name])
            {
                if (!string.IsNullOrEmpty(value))
                    tokens.Add(value);
            }
        }
        foreach (var name in _cookieNames)
        {
            if (http.Cookies[name] is { Length: > 0 } cookie)
                tokens.Add(cookie);
        }
        foreach (var name in _headerNames)
        {
            var header = http.Headers[name];
            if (header.Count > 0 && BearerToken().Match(header[0] ?? "") is { Success: true } match)
                tokens.Add(match.Groups[1].Value);
        }
        return tokens;
    }

    // Kong reads the scheme as "Bearer" or "bearer" and the token as the rest of the value.
    [GeneratedRegex(@"[Bb]earer\s+(.+)")]
    private static partial Regex BearerToken();

    /// <summary>What verifies the signature: the secret's bytes for HS*, else the PEM public key (both base64 when configured so).</summary>
    private byte[]? VerificationKey(JwtSecret secret)
    {
        var value = secret.Algorithm.StartsWith("HS", StringComparison.Ordinal) ? secret.Secret : secret.PublicKey;
        if (value is null)
            return null;
        return _secretIsBase64 ? DecodeBase64(value) : Encoding.UTF8.GetBytes(value);
    }

    /// <summary>Kong's per-claim error map of <c>claims_to_verify</c>; null when every listed claim holds.</summary>
    private Dictionary<string, string>? ClaimErrors(JsonObject payload, long now)
    {
        Dictionary<string, string>? errors = null;
        if (_verifyExp)
        {
            var problem = Number(payload["exp"]) is not { } exp ? "must be a number" : exp <= now ? "token expired" : null;
            if (problem is not null)
                (errors ??= [])["exp"] = problem;
        }
        if (_verifyNbf)
        {
            var problem = Number(payload["nbf"]) is not { } nbf ? "must be a number" : nbf > now ? "token not valid yet" : null;
            if (problem is not null)
                (errors ??= [])["nbf"] = problem;
        }
        return errors;
    }

    private static double? Number(JsonNode? claim) =>
        claim is JsonValue value && value.GetValueKind() == JsonValueKind.Number && value.TryGetValue<double>(out var number) ? number : null;

    private static string? ClaimText(JsonNode? claim) => claim switch
    {
        JsonValue value when value.GetValueKind() == JsonValueKind.String => value.GetValue<string>(),
        JsonValue value when value.GetValueKind() == JsonValueKind.Number => value.ToJsonString(),
        _ => null,
    };

    /// <summary>Standard or URL-safe base64, padded or not, as Kong accepts in tokens and base64 secrets.</summary>
    private static byte[]? DecodeBase64(string text)
    {
        var normalized = text.Replace('-', '+').Replace('_', '/');
        if (normalized.Length % 4 is var rest and > 0)
            normalized += new string('=', 4 - rest);
        try
        {
            return Convert.FromBase64String(normalized);
        }
        catch (FormatException)
        {
            return null;
        }
    }

    /// <summary>A token split into its parts, header and payload parsed; the signature is checked later, against the credential.</summary>
    private sealed class DecodedToken
    {
        // The algorithms .NET verifies; EdDSA has no .NET type, so its tokens are refused as an unknown alg.
        private static readonly FrozenSet<string> Supported = FrozenSet.Create(StringComparer.Ordinal,
            "HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512");

        private readonly byte[] _signedPart;
        private readonly byte[] _signature;

        private DecodedToken(JsonObject header, JsonObject payload, string algorithm, byte[] signedPart, byte[] signature)
        {
            Header = header;
            Payload = payload;
            Algorithm = algorithm;
            _signedPart = signedPart;
            _signature = signature;
        }

        public JsonObject Header { get; }

        public JsonObject Payload { get; }

        public string Algorithm { get; }

        public static DecodedToken? Parse(string token, out string error)
        {
            var parts = token.Split('.');
            JsonObject? header = null, payload = null;
            byte[]? signature = null;
            if (parts.Length == 3)
            {
                header = ParseObject(parts[0]);
                payload = ParseObject(parts[1]);
                signature = DecodeBase64(parts[2]);
            }
            if (header is null || payload is null || signature is null)
            {
                error = "invalid JSON";
                return null;
            }
            if (ClaimText(header["typ"]) is { } typ && !typ.Equals("JWT", StringComparison.OrdinalIgnoreCase))
            {
                error = "invalid typ";
                return null;
            }
            if (header["alg"] is not JsonValue alg || alg.GetValueKind() != JsonValueKind.String || !Supported.Contains(alg.GetValue<string>()))
            {
                error = "invalid alg";
                return null;
            }
            error = "";
            return new DecodedToken(header, payload, alg.GetValue<string>(), Encoding.ASCII.GetBytes(parts[0] + "." + parts[1]), signature);
        }

        private static JsonObject? ParseObject(string part)
        {
            if (DecodeBase64(part) is not { } bytes)
                return null;
            try
            {
                var parsed = JsonNode.Parse(bytes) as JsonObject;
                // Properties are read lazily; counting them now turns a duplicated name into a refusal here, not a 500 later.
                _ = parsed?.Count;
                return parsed;
            }
            catch (Exception e) when (e is JsonException or ArgumentException or InvalidOperationException)
            {
                return null;
            }
        }

        public bool SignatureVerifies(byte[] key)
        {
            var hash = Algorithm[2..] switch
            {
                "256" => HashAlgorithmName.SHA256,
                "384" => HashAlgorithmName.SHA384,
                _ => HashAlgorithmName.SHA512,
            };
            try
            {
                switch (Algorithm[..2])
                {
                    case "HS":
                        return CryptographicOperations.FixedTimeEquals(CryptographicOperations.HmacData(hash, key, _signedPart), _signature);
                    case "ES":
                        {
                            // JWS carries the raw r||s pair (IEEE P1363), which is .NET's default for ECDsa.
                            using var ec = ECDsa.Create();
                            ec.ImportFromPem(Encoding.UTF8.GetString(key));
                            return ec.VerifyData(_signedPart, _signature, hash);
                        }
                    default:
                        {
                            // Keys are imported per request: an RSA instance is not documented as safe to share between threads.
                            using var rsa = RSA.Create();
                            rsa.ImportFromPem(Encoding.UTF8.GetString(key));
                            var padding = Algorithm[0] == 'P' ? RSASignaturePadding.Pss : RSASignaturePadding.Pkcs1;
                            return rsa.VerifyData(_signedPart, _signature, hash, padding);
                        }
                }
            }
            catch (Exception e) when (e is CryptographicException or ArgumentException)
            {
                return false;
            }
        }
    }
}
