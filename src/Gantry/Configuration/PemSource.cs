using System.Diagnostics.CodeAnalysis;

namespace Gantry.Configuration;

/// <summary>
/// A certificate or key property given as Kong accepts it: PEM text, the path of a PEM file, or
/// base64-encoded PEM (handy in an environment variable).
/// </summary>
public static class PemSource
{
    private const string Armor = "-----BEGIN";

    /// <summary>The PEM text the value stands for; false with a reason naming what was tried.</summary>
    /// <param name="secret">The value is a private key: a reason never repeats it, unless it is the path of a folder.</param>
    public static bool TryRead(string value, [NotNullWhen(true)] out string? pem, [NotNullWhen(false)] out string? error, bool secret = false)
    {
        pem = null;
        error = null;
        if (value.Contains(Armor, StringComparison.Ordinal))
        {
            pem = value;
            return true;
        }
        if (File.Exists(value))
        {
            try
            {
                pem = File.ReadAllText(value);
                return true;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                error = $"cannot read the file '{value}': {e.Message}";
                return false;
            }
        }
        var bytes = new byte[value.Length];
        if (Convert.TryFromBase64String(value, bytes, out var length)
            && System.Text.Encoding.UTF8.GetString(bytes, 0, length) is var decoded && decoded.Contains(Armor, StringComparison.Ordinal))
        {
            pem = decoded;
            return true;
        }
        var shown = secret ? "the value" : $"'{value}'";
        error = Directory.Exists(value)
            ? $"'{value}' is a folder; give a PEM file"
            : $"{shown} is neither an existing file, PEM text nor base64-encoded PEM";
        return false;
    }
}
