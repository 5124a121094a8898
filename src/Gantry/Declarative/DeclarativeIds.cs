using System.Security.Cryptography;
using System.Text;

namespace Gantry.Declarative;

/// <summary>
/// Ids for entities a document declares without one: a name-based UUID (RFC 9562 version 5) in a
/// namespace per entity type, itself derived from one fixed root, so that the same document always gives
/// the same ids. The root and the per-type namespaces are built as Kong builds them for the same purpose.
/// </summary>
public static class DeclarativeIds
{
    private static readonly Guid Root = Guid.Parse("fd02801f-0957-4a15-a55a-c8d9606f30b5");

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, Guid> Namespaces = new(StringComparer.Ordinal);

    public static string For(string entityType, string key) =>
        Version5(Namespaces.GetOrAdd(entityType, type => Version5(Root, type)), key).ToString();

    public static Guid Version5(Guid space, string name)
    {
        var input = new byte[16 + Encoding.UTF8.GetByteCount(name)];
        space.TryWriteBytes(input, bigEndian: true, out _);
        Encoding.UTF8.GetBytes(name, input.AsSpan(16));
        Span<byte> hash = stackalloc byte[20];
        SHA1.HashData(input, hash);
        hash[6] = (byte)((hash[6] & 0x0F) | 0x50);
        hash[8] = (byte)((hash[8] & 0x3F) | 0x80);
        return new Guid(hash[..16], bigEndian: true);
    }
}
