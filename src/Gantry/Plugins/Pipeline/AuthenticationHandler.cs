namespace Gantry.Plugins.Pipeline;

/// <summary>
/// What every authentication plugin does around its own credential check: skip preflights when told
/// to, combine with other authentication plugins by OR when an anonymous consumer is configured (an
/// already authenticated request passes), and on failure either answer 401 with the plugin's
/// challenge or continue as the anonymous consumer (500 when that consumer does not exist).
/// </summary>
public abstract class AuthenticationHandler : PluginHandler
{
    private readonly string _plugin;
    private readonly bool _runOnPreflight;
    private readonly string? _anonymousSetting;
    private readonly ConsumerInfo? _anonymous;
    private readonly string _challenge;
    private readonly ILogger _logger;

    protected AuthenticationHandler(string plugin, PluginConfig config, PluginSetup setup, string challenge)
    {
        _plugin = plugin;
        _runOnPreflight = config.Flag("run_on_preflight", true);
        _anonymousSetting = config.Text("anonymous") is { Length: > 0 } anonymous ? anonymous : null;
        _anonymous = _anonymousSetting is null ? null : setup.FindConsumer(_anonymousSetting);
        _challenge = challenge;
        _logger = setup.Logger;
    }

    /// <summary>Checks the request's credential and calls <see cref="PluginRequest.Authenticate"/>; returns why it failed, or null.</summary>
    protected virtual AuthenticationFailure? Authenticate(PluginRequest request) => throw new NotSupportedException("override Authenticate or AuthenticateAsync");

    /// <summary>The same check for plugins that must read the request body; the others need not override it.</summary>
    protected virtual ValueTask<AuthenticationFailure?> AuthenticateAsync(PluginRequest request) => new(Authenticate(request));

    public sealed override async ValueTask AccessAsync(PluginRequest request)
    {
        if (!_runOnPreflight && HttpMethods.IsOptions(request.Http.Request.Method))
            return;
        if (_anonymousSetting is not null && request.CredentialId is not null)
            return;
        var failure = await AuthenticateAsync(request);
        if (failure is null)
            return;
        if (_anonymousSetting is null)
        {
            request.SetResponseHeader("WWW-Authenticate", failure.Challenge ?? _challenge);
            if (failure.Errors is { } errors)
                request.Exit(failure.Status, errors);
            else
                request.Exit(failure.Status, failure.Message);
        }
        else if (_anonymous is null)
        {
            _logger.LogError("{Plugin}: the anonymous consumer '{Anonymous}' is configured but does not exist", _plugin, _anonymousSetting);
            request.Exit(500, "An unexpected error occurred");
        }
        else
        {
            request.Authenticate(_anonymous, credentialId: null);
        }
    }
}

/// <summary>
/// Why an authentication plugin refused a request: a 401 with a message by default; a plugin may answer
/// another status, a challenge other than its usual one, or a body of per-field errors instead of the message.
/// </summary>
public sealed record AuthenticationFailure(string Message)
{
    public int Status { get; init; } = 401;

    /// <summary>The WWW-Authenticate value; null sends the plugin's usual challenge.</summary>
    public string? Challenge { get; init; }

    /// <summary>Sent as the whole body (<c>{"exp":"token expired"}</c>) in place of <c>{"message":…}</c>.</summary>
    public IReadOnlyDictionary<string, string>? Errors { get; init; }

    public static implicit operator AuthenticationFailure(string message) => new(message);
}
