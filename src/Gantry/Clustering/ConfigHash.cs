using System.Buffers.Binary;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Gantry.Clustering;

/// <summary>
/// The hash of a hybrid configuration: the sum modulo 2^128 of every entity's MD5 of
/// <c>type\n</c> followed by the entity's wire form, each read as a big-endian number. A sum can be kept
/// up to date one entity at a time (add the new entity's term, take away the old one's), so neither side
/// rehashes the whole configuration for a change, and the order entities arrive in does not matter.
/// </summary>
public static class ConfigHash
{
    public const string Empty = "00000000000000000000000000000000";

    /// <summary>One entity's term of the sum.</summary>
    public static UInt128 Term(string type, string wireJson)
    {
        var bytes = Encoding.UTF8.GetBytes(type + "\n" + wireJson);
        Span<byte> digest = stackalloc byte[16];
        MD5.HashData(bytes, digest);
        return BinaryPrimitives.ReadUInt128BigEndian(digest);
    }

    /// <summary>32 lowercase hex digits.</summary>
    public static string Format(UInt128 sum) => sum.ToString("x32", CultureInfo.InvariantCulture);

    public static bool TryParse(string? text, out UInt128 sum) =>
        UInt128.TryParse(text, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out sum) && text!.Length == 32;
}
