namespace Gantry.Routing;

/// <summary>
/// The 64-bit key of traditional_compatible, compared as an unsigned number, highest first.
/// From the top: field count (3 bits), plain-hosts-only (1), header count (8, capped at 255),
/// has-regex (1), regex_priority (32, regex sub-routes only), prefix length (19).
/// </summary>
internal static class RoutePriority
{
    private const int MaxPrefixLength = (1 << 19) - 1;

    public static ulong Compute(int fieldCount, bool plainHostsOnly, int headerCount, bool hasRegex, int regexPriority, int prefixLength)
    {
        var key = (ulong)(uint)Math.Clamp(fieldCount, 0, 7) << 61;
        if (plainHostsOnly)
            key |= 1UL << 60;
        key |= (ulong)(uint)Math.Clamp(headerCount, 0, 255) << 52;
        if (hasRegex)
        {
            key |= 1UL << 51;
            // Flipping the sign bit turns the signed order into the same unsigned order, so a
            // negative regex_priority ranks below zero, as users expect.
            key |= (ulong)((uint)regexPriority ^ 0x8000_0000u) << 19;
        }
        key |= (uint)Math.Clamp(prefixLength, 0, MaxPrefixLength);
        return key;
    }
}
