using Gantry.Plugins.Pipeline;

namespace Gantry.Plugins.OAuth2;

/// <summary>The parameters of an /oauth2 endpoint call: the query string's, overridden by a form or JSON body's.</summary>
public sealed class OAuth2Parameters
{
    private readonly HttpRequest _http;
    private readonly RequestBody _body;

    private OAuth2Parameters(HttpRequest http, RequestBody body)
    {
        _http = http;
        _body = body;
    }

    public static async Task<OAuth2Parameters> ReadAsync(HttpRequest http) => new(http, await RequestBody.ReadAsync(http));

    /// <summary>The parameter's value; null when absent or empty.</summary>
    public string? this[string name]
    {
        get
        {
            var value = _body.Get(name);
            if (value.Count == 0)
                value = _http.Query[name];
            return value.Count == 0 || string.IsNullOrEmpty(value[0]) ? null : value[0];
        }
    }
}
