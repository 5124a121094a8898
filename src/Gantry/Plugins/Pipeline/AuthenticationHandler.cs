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

    /// <summary>Checks the request's credential and calls <see cref="PluginRequest.Authenticate"/>; returns the 401 message on failure.</summary>
    protected virtual string? Authenticate(PluginRequest request) => throw new NotSupportedException("override Authenticate or AuthenticateAsync");

    /// <summary>The asynchronous form, for plugins that read the request body.</summary>
    protected virtual ValueTask<string?> AuthenticateAsync(PluginRequest request) => ValueTask.FromResult(Authenticate(request));

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
            request.SetResponseHeader("WWW-Authenticate", _challenge);
            request.Exit(401, failure);
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
