using Gantry.Proxy;

namespace Gantry.Tests.Proxy;

/// <summary>
/// The HTTP/1.1 forwarder writes a request target without building a <see cref="Uri"/> when the target is one
/// Uri would leave as it is; these pin that shortcut to Uri's own canonical form, so that both forwarders
/// send the same request line.
/// </summary>
public sealed class UpstreamRequestEditsTests
{
    private const string Prefix = "http://127.0.0.1:8080";

    [Theory]
    [InlineData("/")]
    [InlineData("/a/b")]
    [InlineData("/r42/x?limit=10&sort=name,-id")]
    [InlineData("/api/v1/users/abc-def_ghi~jkl")]
    [InlineData("/a?next=/../b")]
    public void Common_targets_take_the_shortcut_and_match_Uri(string target)
    {
        Assert.True(UpstreamRequestEdits.IsCanonical(target));
        Assert.Equal(new Uri(Prefix + target).PathAndQuery, new UpstreamRequestEdits { PathAndQuery = target }.Target(Prefix));
    }

    [Theory]
    [InlineData("/a/./b")]
    [InlineData("/a/../b")]
    [InlineData("/a/..")]
    [InlineData("/a b")]
    [InlineData("/a#b")]
    [InlineData("/%41%2f")]
    [InlineData("/caf\u00e9")]
    [InlineData("/a\\b")]
    [InlineData("/a\"<>b")]
    [InlineData("/.well-known/x")]
    public void Targets_Uri_may_rewrite_go_through_Uri(string target)
    {
        Assert.False(UpstreamRequestEdits.IsCanonical(target));
        Assert.Equal(new Uri(Prefix + target).PathAndQuery, new UpstreamRequestEdits { PathAndQuery = target }.Target(Prefix));
    }

    [Fact]
    public void Every_generated_target_the_shortcut_takes_is_what_Uri_gives()
    {
        const string alphabet = "abcXYZ019-._~!$&'()*+,;=:@/?%#[] \\\"<>^`{|}\u00e9\t";
        var random = new Random(15);
        var taken = 0;
        for (var i = 0; i < 20_000; i++)
        {
            var chars = new char[random.Next(1, 24)];
            for (var j = 0; j < chars.Length; j++)
                chars[j] = alphabet[random.Next(random.Next(2) == 0 ? 14 : alphabet.Length)];
            var target = "/" + new string(chars);
            if (!Uri.TryCreate(Prefix + target, UriKind.Absolute, out var uri))
                continue;
            Assert.Equal(uri.PathAndQuery, new UpstreamRequestEdits { PathAndQuery = target }.Target(Prefix));
            if (UpstreamRequestEdits.IsCanonical(target))
                taken++;
        }
        // The shortcut must be exercised, not only the Uri path.
        Assert.True(taken > 1000, $"only {taken} generated targets took the shortcut");
    }
}
