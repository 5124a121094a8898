using System.Text;

namespace Gantry.Store;

/// <summary>
/// The opaque <c>offset</c> of a list ordered by id: the last id of the previous page, base64url-encoded,
/// as Kong's offsets are opaque strings a client passes back unchanged.
/// </summary>
public static class PageOffset
{
    public static string Encode(string lastId) =>
        Convert.ToBase64String(Encoding.UTF8.GetBytes(lastId)).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    /// <summary>The id an offset carries; null for none; <see cref="EntityException.InvalidOffset"/> when it carries no id.</summary>
    public static string? Decode(string? offset)
    {
        if (offset is not { Length: > 0 })
            return null;
        string after;
        try
        {
            after = Encoding.UTF8.GetString(Convert.FromBase64String(offset.Replace('-', '+').Replace('_', '/').PadRight((offset.Length + 3) / 4 * 4, '=')));
        }
        catch (FormatException)
        {
            throw EntityException.InvalidOffset(offset);
        }
        return Guid.TryParse(after, out _) ? after : throw EntityException.InvalidOffset(offset);
    }
}
