using System.Globalization;

namespace Gantry.Configuration;

/// <summary>Parsing rules shared by validation and by the typed accessors, so both agree.</summary>
internal static class ConfValues
{
    public static bool TryParseBoolean(string value, out bool result)
    {
        switch (value.ToLowerInvariant())
        {
            case "on" or "true":
                result = true;
                return true;
            case "off" or "false":
                result = false;
                return true;
            default:
                result = false;
                return false;
        }
    }

    public static bool TryParseNumber(string value, out double result) =>
        double.TryParse(value, NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out result)
        && double.IsFinite(result);

    /// <summary>
    /// A time as nginx writes one in the directives Kong injects (<c>nginx_main_*</c>): a whole number with
    /// <c>ms</c>, <c>s</c>, <c>m</c> or <c>h</c>, seconds without a unit. nginx's rarer units and sums are left out.
    /// </summary>
    public static bool TryParseNginxTime(string value, out TimeSpan result)
    {
        result = default;
        var text = value.Trim();
        var (digits, unit) = text.EndsWith("ms", StringComparison.Ordinal) ? (text[..^2], 0.001)
            : text.EndsWith('s') ? (text[..^1], 1d)
            : text.EndsWith('m') ? (text[..^1], 60d)
            : text.EndsWith('h') ? (text[..^1], 3600d)
            : (text, 1d);
        if (!long.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out var number) || number > int.MaxValue)
            return false;
        result = TimeSpan.FromSeconds(number * unit);
        return true;
    }

    public static IReadOnlyList<string> SplitList(string value) =>
        value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
}
