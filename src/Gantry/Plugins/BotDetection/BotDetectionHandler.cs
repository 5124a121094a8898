using System.Text.RegularExpressions;
using Gantry.Plugins.Pipeline;

namespace Gantry.Plugins.BotDetection;

/// <summary>
/// Checks the User-Agent against <c>allow</c> (passes), then <c>deny</c> and the built-in bot list
/// (<see cref="KnownBots"/>), each pattern searched anywhere in the trimmed header; 403 on a refusal.
/// Requests without a User-Agent pass, as in Kong.
/// </summary>
public sealed class BotDetectionHandler(PluginConfig config) : PluginHandler
{
    // A pattern that takes pathological time on a crafted header fails (and refuses) instead of stalling the node.
    private static readonly TimeSpan MatchTimeout = TimeSpan.FromMilliseconds(100);

    private readonly Regex[] _allow = Compile(config.Strings("allow", []));
    private readonly Regex[] _deny = Compile(config.Strings("deny", []));

    public override ValueTask AccessAsync(PluginRequest request)
    {
        var agents = request.Http.Request.Headers.UserAgent;
        if (agents.Count > 1)
        {
            request.Exit(400, "Only one User-Agent header allowed");
            return ValueTask.CompletedTask;
        }
        if (agents.Count == 0)
            return ValueTask.CompletedTask;
        var agent = agents[0]!.Trim();
        if (Refused(agent))
            request.Exit(403, "Forbidden");
        return ValueTask.CompletedTask;
    }

    private bool Refused(string agent)
    {
        try
        {
            foreach (var allow in _allow)
            {
                if (allow.IsMatch(agent))
                    return false;
            }
            foreach (var deny in _deny)
            {
                if (deny.IsMatch(agent))
                    return true;
            }
            return KnownBots.Pattern.IsMatch(agent);
        }
        catch (RegexMatchTimeoutException)
        {
            return true;
        }
    }

    private static Regex[] Compile(string[] patterns) =>
        Array.ConvertAll(patterns, p => new Regex(p, RegexOptions.CultureInvariant, MatchTimeout));
}
