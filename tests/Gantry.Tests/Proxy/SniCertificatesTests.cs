using System.Net.Security;
using Gantry.Node;
using Gantry.Tests.Support;

namespace Gantry.Tests.Proxy;

/// <summary>The SNI lookup order and the certificate cache, without a node.</summary>
public sealed class SniCertificatesTests
{
    private static SslStreamCertificateContext Context(string name)
    {
        var (cert, key) = TlsClient.SelfSigned(name);
        return CertificateCache.ContextOf(cert, key);
    }

    [Fact]
    public void Names_are_looked_up_exact_then_left_wildcard_then_right_wildcard_then_the_catch_all()
    {
        var exact = Context("exact");
        var left = Context("left");
        var right = Context("right");
        var any = Context("any");
        var map = new SniCertificates(new Dictionary<string, SslStreamCertificateContext>
        {
            ["api.example.com"] = exact,
            ["*.example.com"] = left,
            ["api.example.*"] = right,
            ["*"] = any,
        });
        Assert.Same(exact, map.Select("api.example.com"));
        Assert.Same(exact, map.Select("API.Example.com."));
        Assert.Same(left, map.Select("web.example.com"));
        Assert.Same(right, map.Select("api.example.org"));
        Assert.Same(any, map.Select("a.b.example.com"));
        Assert.Same(any, map.Select(null));
        Assert.Null(SniCertificates.Empty.Select("api.example.com"));
        Assert.Null(new SniCertificates(new Dictionary<string, SslStreamCertificateContext> { ["*.example.com"] = left }).Select("example.com"));
    }

    [Fact]
    public void A_certificate_is_parsed_again_only_when_it_changed()
    {
        var cache = new CertificateCache();
        var one = TlsClient.SelfSigned("one");
        var two = TlsClient.SelfSigned("two");
        var id = Guid.NewGuid();
        var first = cache.Refresh([(id, 100, one.Cert, one.Key)])[id];
        Assert.Same(first, cache.Refresh([(id, 100, one.Cert, one.Key)])[id]);
        Assert.Equal(1, cache.ParseCount);
        // A newer updated_at, or other PEM text within the same second, is a new certificate.
        Assert.NotSame(first, cache.Refresh([(id, 101, one.Cert, one.Key)])[id]);
        Assert.Contains("CN=two", cache.Refresh([(id, 101, two.Cert, two.Key)])[id].TargetCertificate.Subject);
        Assert.Equal(3, cache.ParseCount);
        // A vault reference is left out, not parsed.
        Assert.Empty(cache.Refresh([(id, 102, "{vault://env/cert}", two.Key)]));
        Assert.Equal(3, cache.ParseCount);
    }
}
