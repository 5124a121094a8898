using System.Collections.Frozen;
using System.Security.Cryptography;
using System.Text;
using Gantry.Plugins.Pipeline;

namespace Gantry.Plugins.BasicAuth;

/// <summary>
/// Authenticates a consumer by <c>Basic base64(username:password)</c> in Proxy-Authorization, else
/// Authorization, compared with the stored SHA-1 of password + consumer id.
/// </summary>
public sealed class BasicAuthHandler : AuthenticationHandler
{
    private static readonly string[] Headers = ["Proxy-Authorization", "Authorization"];

    private readonly bool _hideCredentials;
    private readonly FrozenDictionary<string, (Guid Id, Guid Consumer, string Hash)> _credentials;
    private readonly FrozenDictionary<Guid, ConsumerInfo> _consumers;

    public BasicAuthHandler(PluginConfig config, PluginSetup setup)
        : base("basic-auth", config, setup, $"Basic realm=\"{config.Text("realm") ?? "service"}\"")
    {
        _hideCredentials = config.Flag("hide_credentials", false);
        _credentials = setup.Shared("basic-auth:credentials", () => setup.Entities(BasicAuthCredentials.Schema.Name).ToFrozenDictionary(
            c => c["username"]!.GetValue<string>(),
            c => (Guid.Parse(c["id"]!.GetValue<string>()), Guid.Parse(c["consumer"]!["id"]!.GetValue<string>()), c["password"]!.GetValue<string>()),
            StringComparer.Ordinal));
        _consumers = setup.Consumers;
    }

    protected override AuthenticationFailure? Authenticate(PluginRequest request)
    {
        var headers = request.Http.Request.Headers;
        foreach (var name in Headers)
        {
            var value = headers[name].ToString();
            if (value.Length == 0)
                continue;
            if (Decode(value) is not var (username, password)
                || !_credentials.TryGetValue(username, out var credential)
                || !Matches(BasicAuthCredentials.Hash(password, credential.Consumer.ToString()), credential.Hash)
                || !_consumers.TryGetValue(credential.Consumer, out var consumer))
                continue;
            if (_hideCredentials)
            {
                headers.Remove("Authorization");
                headers.Remove("Proxy-Authorization");
            }
            request.Authenticate(consumer, credential.Id);
            return null;
        }
        return "Unauthorized";
    }

    private static (string Username, string Password)? Decode(string header)
    {
        if (!header.StartsWith("Basic ", StringComparison.OrdinalIgnoreCase))
            return null;
        try
        {
            var text = Encoding.UTF8.GetString(Convert.FromBase64String(header[6..].Trim()));
            var colon = text.IndexOf(':');
            return colon < 0 ? null : (text[..colon], text[(colon + 1)..]);
        }
        catch (FormatException)
        {
            return null;
        }
    }

    private static bool Matches(string computed, string stored) =>
        CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(computed), Encoding.ASCII.GetBytes(stored));
}
