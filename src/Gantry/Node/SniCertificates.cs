using System.Collections.Frozen;
using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Gantry.Node;

/// <summary>
/// The proxy's server certificates by SNI, compiled from the stored certificates and snis into the
/// configuration snapshot. A TLS handshake looks a name up in Kong's order: the exact name, then
/// <c>*.</c> plus the name without its first label, then the name with its last label replaced by
/// <c>*</c>, then the catch-all SNI <c>*</c>; null sends the handshake to the listener's default
/// certificate (ssl_cert, else the self-signed one).
/// </summary>
public sealed class SniCertificates
{
    private readonly FrozenDictionary<string, SslStreamCertificateContext>.AlternateLookup<ReadOnlySpan<char>> _byName;
    private readonly SslStreamCertificateContext? _catchAll;

    public static SniCertificates Empty { get; } = new(new Dictionary<string, SslStreamCertificateContext>());

    /// <param name="byName">Certificates by SNI name as stored: exact names and the wildcard forms <c>*.x</c>, <c>x.*</c> and <c>*</c>.</param>
    public SniCertificates(IReadOnlyDictionary<string, SslStreamCertificateContext> byName)
    {
        _catchAll = byName.GetValueOrDefault("*");
        _byName = byName.Where(p => p.Key != "*").ToFrozenDictionary(StringComparer.OrdinalIgnoreCase)
            .GetAlternateLookup<ReadOnlySpan<char>>();
        Count = byName.Count;
    }

    /// <summary>How many SNI names map to a certificate.</summary>
    public int Count { get; }

    /// <summary>The certificate for the client's server name, or null for the listener's default. Allocates nothing.</summary>
    public SslStreamCertificateContext? Select(string? serverName)
    {
        if (string.IsNullOrEmpty(serverName))
            return _catchAll;
        var name = serverName.AsSpan().TrimEnd('.');
        if (_byName.TryGetValue(name, out var exact))
            return exact;
        if (name.IndexOf('.') is var firstDot and > 0 && WildcardLookup(name[firstDot..], prefix: true) is { } left)
            return left;
        if (name.LastIndexOf('.') is var lastDot and > 0 && WildcardLookup(name[..(lastDot + 1)], prefix: false) is { } right)
            return right;
        return _catchAll;
    }

    /// <summary>Looks up <c>*</c> + suffix or prefix + <c>*</c> in a stack buffer, so that a handshake allocates no string.</summary>
    private SslStreamCertificateContext? WildcardLookup(ReadOnlySpan<char> part, bool prefix)
    {
        // DNS names are at most 253 characters; longer ones cannot be stored SNIs.
        if (part.Length > 254)
            return null;
        Span<char> key = stackalloc char[part.Length + 1];
        if (prefix)
        {
            key[0] = '*';
            part.CopyTo(key[1..]);
        }
        else
        {
            part.CopyTo(key);
            key[^1] = '*';
        }
        return _byName.TryGetValue(key, out var found) ? found : null;
    }
}

/// <summary>
/// Parses stored certificates into handshake-ready contexts, keeping each one until the certificate is
/// changed or deleted, so that a configuration rebuild re-parses only what changed. Used by one builder
/// at a time (rebuilds are sequential), hence no locking.
/// </summary>
public sealed class CertificateCache
{
    private Dictionary<(Guid Id, long UpdatedAt), Parsed> _parsed = [];

    /// <summary>
    /// The certificates of one rebuild, by id: the context of every certificate that parses; a vault
    /// reference (not resolved yet) or an unusable pair is left out, so its SNIs fall back to the default.
    /// </summary>
    public Dictionary<Guid, SslStreamCertificateContext> Refresh(IEnumerable<(Guid Id, long UpdatedAt, string Cert, string Key)> certificates)
    {
        var next = new Dictionary<(Guid, long), Parsed>();
        var result = new Dictionary<Guid, SslStreamCertificateContext>();
        foreach (var (id, updatedAt, cert, key) in certificates)
        {
            // updated_at has one-second resolution: comparing the PEM text as well catches two writes within a second,
            // and costs far less than parsing.
            if (!_parsed.TryGetValue((id, updatedAt), out var parsed) || parsed.Cert != cert || parsed.Key != key)
                parsed = new Parsed(cert, key, Parse(cert, key));
            next[(id, updatedAt)] = parsed;
            if (parsed.Context is not null)
                result[id] = parsed.Context;
        }
        // Contexts dropped here may still serve a handshake in flight; they are left to the collector, not disposed.
        _parsed = next;
        return result;
    }

    private sealed record Parsed(string Cert, string Key, SslStreamCertificateContext? Context);

    /// <summary>How many certificates were parsed (not taken from the cache) since the cache was created; for tests.</summary>
    public int ParseCount { get; private set; }

    private SslStreamCertificateContext? Parse(string certPem, string keyPem)
    {
        if (certPem.StartsWith("{vault://", StringComparison.Ordinal) || keyPem.StartsWith("{vault://", StringComparison.Ordinal))
            return null;
        ParseCount++;
        try
        {
            return ContextOf(certPem, keyPem);
        }
        catch (CryptographicException)
        {
            // The Admin API checked the pair when it was written; a pair that still fails is served by the default.
            return null;
        }
    }

    /// <summary>A handshake context for a PEM certificate (leaf first, then its chain) and its key.</summary>
    public static SslStreamCertificateContext ContextOf(string certPem, string keyPem)
    {
        using var pem = X509Certificate2.CreateFromPem(certPem, keyPem);
        // An ephemeral PEM key is not usable by SslStream on every platform; a PKCS#12 round trip gives one that is.
        var leaf = X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), null);
        var all = new X509Certificate2Collection();
        all.ImportFromPem(certPem);
        var chain = new X509Certificate2Collection();
        for (var i = 1; i < all.Count; i++)
            chain.Add(all[i]);
        return SslStreamCertificateContext.Create(leaf, chain, offline: true);
    }
}
