using System.Security.Cryptography;
using System.Text;

namespace Gantry.Plugins.OAuth2;

/// <summary>
/// Client secrets of applications with <c>hash_secret</c>: stored as PBKDF2-SHA512 in the PHC-like form
/// Kong writes for that algorithm (<c>$pbkdf2-sha512$i=…,l=…$salt$hash</c>, unpadded base64), so a
/// secret hashed by either can be checked by the other. .NET has PBKDF2 built in; Kong's argon2 and
/// bcrypt forms are not checked (an application moved from Kong with one needs its secret set again).
/// </summary>
public static class OAuth2Secret
{
    private const string Prefix = "$pbkdf2-sha512$";
    private const int Iterations = 10000;
    private const int Length = 32;

    public static bool IsHash(string secret) => secret.StartsWith(Prefix, StringComparison.Ordinal);

    public static string Hash(string secret)
    {
        var salt = RandomNumberGenerator.GetBytes(16);
        var hash = Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes(secret), salt, Iterations, HashAlgorithmName.SHA512, Length);
        return $"{Prefix}i={Iterations},l={Length}${Unpadded(salt)}${Unpadded(hash)}";
    }

    /// <summary>Whether <paramref name="presented"/> is the secret <paramref name="stored"/> holds, hashed or not, in constant time.</summary>
    public static bool Matches(string? stored, string? presented)
    {
        if (stored is null || presented is null)
            return false;
        if (!IsHash(stored))
            return CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(stored), Encoding.UTF8.GetBytes(presented));
        var parts = stored[Prefix.Length..].Split('$');
        if (parts.Length != 3)
            return false;
        int iterations = 0, length = 0;
        foreach (var setting in parts[0].Split(','))
        {
            if (setting.StartsWith("i=", StringComparison.Ordinal))
                int.TryParse(setting[2..], out iterations);
            else if (setting.StartsWith("l=", StringComparison.Ordinal))
                int.TryParse(setting[2..], out length);
        }
        if (iterations <= 0 || length <= 0 || FromUnpadded(parts[1]) is not { } salt || FromUnpadded(parts[2]) is not { } expected)
            return false;
        var actual = Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes(presented), salt, iterations, HashAlgorithmName.SHA512, length);
        return CryptographicOperations.FixedTimeEquals(actual, expected);
    }

    private static string Unpadded(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=');

    private static byte[]? FromUnpadded(string text)
    {
        var padded = text.Replace('-', '+').Replace('_', '/');
        padded += new string('=', (4 - padded.Length % 4) % 4);
        try
        {
            return Convert.FromBase64String(padded);
        }
        catch (FormatException)
        {
            return null;
        }
    }
}
