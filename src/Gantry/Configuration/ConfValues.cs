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

    public static IReadOnlyList<string> SplitList(string value) =>
        value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
}
