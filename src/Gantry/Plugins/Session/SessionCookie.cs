using System.Buffers.Text;
using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace Gantry.Plugins.Session;

/// <summary>What a session cookie holds, in Unix seconds.</summary>
public sealed record SessionState(byte[] Id, Guid Consumer, Guid Credential, string Audience, long Created, long RollingStart, long Touched);

/// <summary>
/// Seals a session into a cookie value and opens it again: AES-256-GCM under a key derived from the
/// plugin's secret (HKDF-SHA256), with the bound request properties (client address, scheme, user agent)
/// as associated data, so a cookie opens only for the secret and the client it was issued to. The value is
/// base64url of version, nonce, ciphertext and tag; anything else opens to nothing.
/// </summary>
public sealed class SessionCookie
{
    private const byte Version = 1;
    private const int NonceSize = 12;
    private const int TagSize = 16;
    private const int IdSize = 16;
    // id, consumer, credential, created, rolling start, touched; then the audience's UTF-8 bytes.
    private const int FixedSize = IdSize + 16 + 16 + 8 + 8 + 8;
    /// <summary>Longer values are not opened: a browser keeps at most 4 KiB per cookie anyway.</summary>
    private const int MaxValueLength = 4096;

    private readonly byte[] _key;

    public SessionCookie(string secret)
    {
        _key = HKDF.DeriveKey(HashAlgorithmName.SHA256, Encoding.UTF8.GetBytes(secret), 32, salt: [], info: "gantry session cookie v1"u8.ToArray());
    }

    public string Seal(SessionState state, ReadOnlySpan<byte> binding)
    {
        var audience = Encoding.UTF8.GetBytes(state.Audience);
        var plain = new byte[FixedSize + audience.Length];
        state.Id.CopyTo(plain, 0);
        state.Consumer.TryWriteBytes(plain.AsSpan(IdSize, 16));
        state.Credential.TryWriteBytes(plain.AsSpan(IdSize + 16, 16));
        BinaryPrimitives.WriteInt64BigEndian(plain.AsSpan(IdSize + 32), state.Created);
        BinaryPrimitives.WriteInt64BigEndian(plain.AsSpan(IdSize + 40), state.RollingStart);
        BinaryPrimitives.WriteInt64BigEndian(plain.AsSpan(IdSize + 48), state.Touched);
        audience.CopyTo(plain, FixedSize);

        var sealedValue = new byte[1 + NonceSize + plain.Length + TagSize];
        sealedValue[0] = Version;
        var nonce = sealedValue.AsSpan(1, NonceSize);
        RandomNumberGenerator.Fill(nonce);
        using var aes = new AesGcm(_key, TagSize);
        aes.Encrypt(nonce, plain, sealedValue.AsSpan(1 + NonceSize, plain.Length), sealedValue.AsSpan(1 + NonceSize + plain.Length), binding);
        return Base64Url.EncodeToString(sealedValue);
    }

    /// <summary>The session in a cookie value; null when it was not sealed by this secret for this binding, or is malformed.</summary>
    public SessionState? Open(string value, ReadOnlySpan<byte> binding)
    {
        if (value.Length > MaxValueLength)
            return null;
        byte[] sealedValue;
        try
        {
            sealedValue = Base64Url.DecodeFromChars(value);
        }
        catch (FormatException)
        {
            return null;
        }
        if (sealedValue.Length < 1 + NonceSize + FixedSize + TagSize || sealedValue[0] != Version)
            return null;
        var length = sealedValue.Length - 1 - NonceSize - TagSize;
        var plain = new byte[length];
        try
        {
            using var aes = new AesGcm(_key, TagSize);
            aes.Decrypt(sealedValue.AsSpan(1, NonceSize), sealedValue.AsSpan(1 + NonceSize, length), sealedValue.AsSpan(1 + NonceSize + length), plain, binding);
        }
        catch (AuthenticationTagMismatchException)
        {
            return null;
        }
        string audience;
        try
        {
            audience = new UTF8Encoding(false, true).GetString(plain, FixedSize, length - FixedSize);
        }
        catch (ArgumentException)
        {
            return null;
        }
        return new SessionState(plain[..IdSize], new Guid(plain.AsSpan(IdSize, 16)), new Guid(plain.AsSpan(IdSize + 16, 16)), audience,
            BinaryPrimitives.ReadInt64BigEndian(plain.AsSpan(IdSize + 32)), BinaryPrimitives.ReadInt64BigEndian(plain.AsSpan(IdSize + 40)),
            BinaryPrimitives.ReadInt64BigEndian(plain.AsSpan(IdSize + 48)));
    }

    public static byte[] NewId() => RandomNumberGenerator.GetBytes(IdSize);
}
