using System.Collections.Frozen;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using Gantry.Plugins.Pipeline;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Net.Http.Headers;

namespace Gantry.Plugins.HmacAuth;

/// <summary>
/// Authenticates a consumer by an HMAC signature (Kong's variant of draft-cavage-http-signatures) in
/// Proxy-Authorization, else Authorization:
/// <c>hmac username="…", algorithm="hmac-sha256", headers="date request-line", signature="base64"</c>.
/// The signature covers the listed headers (and the request line); the request must carry a Date or
/// X-Date within <c>clock_skew</c>, and with <c>validate_request_body</c> a <c>Digest: SHA-256=…</c> of its body.
/// </summary>
public sealed partial class HmacAuthHandler : AuthenticationHandler
{
    private const string CannotBeVerified = "HMAC signature cannot be verified";
    private const string DoesNotMatch = "HMAC signature does not match";

    private readonly bool _hideCredentials;
    private readonly double _clockSkew;
    private readonly bool _validateBody;
    private readonly string[] _enforcedHeaders;
    private readonly FrozenSet<string> _algorithms;
    private readonly FrozenDictionary<string, (Guid Id, Guid Consumer, string Secret)> _credentials;
    private readonly FrozenDictionary<Guid, ConsumerInfo> _consumers;

    public HmacAuthHandler(PluginConfig config, PluginSetup setup)
        : base("hmac-auth", config, setup, config.Text("realm") is { } realm ? $"hmac realm=\"{realm}\"" : "hmac")
    {
        _hideCredentials = config.Flag("hide_credentials", false);
        _clockSkew = config.Number("clock_skew", 300);
        _validateBody = config.Flag("validate_request_body", false);
        _enforcedHeaders = config.Strings("enforce_headers", []);
        _algorithms = config.Strings("algorithms", HmacAuthPlugin.Algorithms).ToFrozenSet(StringComparer.Ordinal);
        _credentials = setup.Shared("hmac-auth:credentials", () => setup.Entities(HmacAuthCredentials.Schema.Name).ToFrozenDictionary(
            c => c["username"]!.GetValue<string>(),
            c => (Guid.Parse(c["id"]!.GetValue<string>()), Guid.Parse(c["consumer"]!["id"]!.GetValue<string>()), c["secret"]?.GetValue<string>() ?? ""),
            StringComparer.Ordinal));
        _consumers = setup.Consumers;
    }

    private sealed record Signature(string Header, string Username, string Algorithm, string[] Headers, string Value);

    protected override AuthenticationFailure? Authenticate(PluginRequest request) =>
        Verify(request, out var verified) ?? Accept(request, verified!.Value);

    protected override async ValueTask<AuthenticationFailure?> AuthenticateAsync(PluginRequest request)
    {
        if (!_validateBody)
            return Authenticate(request);
        // The body is read only once the signature holds, so unsigned requests cannot make the node buffer bodies.
        if (Verify(request, out var verified) is { } failure)
            return failure;
        if (!await BodyMatchesDigestAsync(request.Http.Request))
            return DoesNotMatch;
        return Accept(request, verified!.Value);
    }

    private AuthenticationFailure? Accept(PluginRequest request, (Signature Signature, Guid Id, ConsumerInfo Consumer) verified)
    {
        if (_hideCredentials)
            request.Http.Request.Headers.Remove(verified.Signature.Header);
        request.Authenticate(verified.Consumer, verified.Id, verified.Signature.Username);
        return null;
    }

    /// <summary>Everything but the body: date, parameters, credential and signature, in Kong's order.</summary>
    private AuthenticationFailure? Verify(PluginRequest request, out (Signature Signature, Guid Id, ConsumerInfo Consumer)? verified)
    {
        verified = null;
        var http = request.Http.Request;
        if (FirstValue(http, HeaderNames.ProxyAuthorization) is null && FirstValue(http, HeaderNames.Authorization) is null)
            return "Unauthorized";
        if (!WithinClockSkew(http, "X-Date") && !WithinClockSkew(http, HeaderNames.Date))
            return CannotBeVerified + ", a valid date or x-date header is required for HMAC Authentication";
        var signature = Parse(http, HeaderNames.ProxyAuthorization) ?? Parse(http, HeaderNames.Authorization);
        if (signature is null
            || signature.Username.Length == 0 || signature.Value.Length == 0
            || !_enforcedHeaders.All(signature.Headers.Contains)
            || !_algorithms.Contains(signature.Algorithm)
            || !_credentials.TryGetValue(signature.Username, out var credential))
            return CannotBeVerified;
        if (!SignatureMatches(request.Http, signature, credential.Secret)
            || !_consumers.TryGetValue(credential.Consumer, out var consumer))
            return DoesNotMatch;
        verified = (signature, credential.Id, consumer);
        return null;
    }

    private static string? FirstValue(HttpRequest http, string name) => http.Headers[name] is { Count: > 0 } values ? values[0] : null;

    private bool WithinClockSkew(HttpRequest http, string header) =>
        FirstValue(http, header) is { } value
        && HeaderUtilities.TryParseDate(value, out var date)
        && Math.Abs((DateTimeOffset.UtcNow - date).TotalSeconds) <= _clockSkew;

    private static Signature? Parse(HttpRequest http, string header)
    {
        if (FirstValue(http, header) is not { } value || SignatureParameters().Match(value) is not { Success: true } m)
            return null;
        return new Signature(header, m.Groups["username"].Value, m.Groups["algorithm"].Value,
            m.Groups["headers"].Value.Split(' ', StringSplitOptions.RemoveEmptyEntries), m.Groups["signature"].Value);
    }

    // The four parameters in the order Kong documents them; the scheme is "hmac" or "Hmac".
    [GeneratedRegex(@"[Hh]mac\s*username=""(?<username>[^""]*)"",\s*algorithm=""(?<algorithm>[^""]*)"",\s*headers=""(?<headers>[^""]*)"",\s*signature=""(?<signature>[^""]*)""")]
    private static partial Regex SignatureParameters();

    private static bool SignatureMatches(HttpContext http, Signature signature, string secret)
    {
        byte[] presented;
        try
        {
            presented = Convert.FromBase64String(signature.Value);
        }
        catch (FormatException)
        {
            return false;
        }
        var hash = signature.Algorithm switch
        {
            "hmac-sha1" => HashAlgorithmName.SHA1,
            "hmac-sha256" => HashAlgorithmName.SHA256,
            "hmac-sha384" => HashAlgorithmName.SHA384,
            _ => HashAlgorithmName.SHA512,
        };
        var computed = CryptographicOperations.HmacData(hash, Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes(SigningString(http, signature.Headers)));
        return CryptographicOperations.FixedTimeEquals(computed, presented);
    }

    /// <summary>
    /// One line per listed name: <c>name: value</c> for a header the request has, the request line for
    /// <c>request-line</c>, <c>@request-target: method target</c>, and <c>name:</c> for an absent header.
    /// </summary>
    private static string SigningString(HttpContext http, string[] names)
    {
        var request = http.Request;
        // The target exactly as the client sent it: the client signed those bytes, not a decoded path.
        var target = http.Features.Get<IHttpRequestFeature>()?.RawTarget is { Length: > 0 } raw ? raw : request.Path + request.QueryString;
        var text = new StringBuilder();
        for (var i = 0; i < names.Length; i++)
        {
            if (i > 0)
                text.Append('\n');
            var name = names[i];
            if (FirstValue(request, name) is { } value)
                text.Append(name).Append(": ").Append(value);
            else if (name == "@request-target")
                text.Append(name).Append(": ").Append(request.Method.ToLowerInvariant()).Append(' ').Append(target);
            else if (name == "request-line")
                text.Append(request.Method).Append(' ').Append(target).Append(' ').Append(HttpVersion(request.Protocol));
            else
                text.Append(name).Append(':');
        }
        return text.ToString();
    }

    // Kong prints the version as a number with one decimal: HTTP/1.1, HTTP/2.0.
    private static string HttpVersion(string protocol) => protocol switch
    {
        "HTTP/2" => "HTTP/2.0",
        "HTTP/3" => "HTTP/3.0",
        _ => protocol,
    };

    /// <summary>
    /// The body's SHA-256 against the Digest header; a request without Digest passes only with an empty body.
    /// The body is buffered (on disk past a threshold) so that it is still forwarded upstream in full.
    /// </summary>
    private static async Task<bool> BodyMatchesDigestAsync(HttpRequest http)
    {
        http.EnableBuffering();
        var aborted = http.HttpContext.RequestAborted;
        var digest = FirstValue(http, "Digest");
        var matches = digest is null
            ? await http.Body.ReadAsync(new byte[1], aborted) == 0
            : digest == "SHA-256=" + Convert.ToBase64String(await SHA256.HashDataAsync(http.Body, aborted));
        http.Body.Position = 0;
        return matches;
    }
}
