using System.Text.RegularExpressions;

namespace Gantry.Plugins.BotDetection;

/// <summary>
/// User-Agents refused without configuration: crawlers, scrapers, scanners and HTTP libraries used from
/// scripts. Gantry's own list (Kong ships a different one); <c>allow</c> lets any of them through.
/// </summary>
internal static partial class KnownBots
{
    [GeneratedRegex(
        @"(?i)(bot\b|bot/|crawler|spider|scrapy|slurp|archiver|facebookexternalhit|curl/|wget/|python-requests|python-urllib|aiohttp|go-http-client|java/|libwww-perl|okhttp|httpclient|nikto|sqlmap|nmap|masscan|zgrab|nessus|headlesschrome|phantomjs)",
        RegexOptions.CultureInvariant, matchTimeoutMilliseconds: 100)]
    public static partial Regex Pattern { get; }
}
