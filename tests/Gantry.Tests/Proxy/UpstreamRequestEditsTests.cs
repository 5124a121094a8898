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
    [InlineData("/", true)]
    [InlineData("/a/b", true)]
    [InlineData("/r42/x?limit=10&sort=name,-id", true)]
    [InlineData("/api/v1/users/abc-def_ghi~jkl", true)]
    [InlineData("/a?next=/../b", true)]
    [InlineData("/a/./b", false)]
    [InlineData("/a/../b", false)]
    [InlineData("/a/..", false)]
    [InlineData("/a b", false)]
    [InlineData("/a#b", false)]
    [InlineData("/%41%2f", false)]
    [InlineData("/caf\u00e9", false)]
    [InlineData("/a\\b", false)]
    [InlineData("/a\"<>b", false)]
    [InlineData("/.well-known/x", false)]
    public void Common_targets_take_the_shortcut_others_go_through_Uri_and_both_match_Uri(string target, bool shortcut)
    {
        Assert.Equal(shortcut, UpstreamRequestEdits.IsCanonical(target));
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
