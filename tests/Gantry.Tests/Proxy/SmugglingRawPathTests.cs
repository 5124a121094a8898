using Gantry.Proxy;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace Gantry.Tests.Proxy;

/// <summary>The path Gantry forwards and puts in X-Forwarded-Path, taken from the request target as the client wrote it.</summary>
public sealed class SmugglingRawPathTests
{
    [Theory]
    [InlineData("/load/x%0d%0aHost:%20a?q=%0a", "/load/x%0d%0aHost:%20a")]
    [InlineData("/a%2Fb/%2e%2e/c", "/a%2Fb/%2e%2e/c")]
    [InlineData("/plain", "/plain")]
    [InlineData("/?only=query", "/")]
    [InlineData("http://gantry.test:8000/load/a%0a?q=1", "/load/a%0a")]
    [InlineData("http://gantry.test/", "/")]
    [InlineData("http://gantry.test", "/")]
    [InlineData("http://gantry.test?next=/elsewhere", "/")]
    [InlineData("https://gantry.test/a#fragment", "/a")]
    [InlineData("*", "/")]
    public void The_raw_path_is_the_target_up_to_the_query_with_its_escapes(string target, string expected)
    {
        var http = new DefaultHttpContext();
        http.Features.Get<IHttpRequestFeature>()!.RawTarget = target;
        Assert.Equal(expected, RawRequestPath.Of(http));
    }

    [Fact]
    public void Without_a_raw_target_the_decoded_path_is_encoded_again()
    {
        var http = new DefaultHttpContext();
        http.Features.Get<IHttpRequestFeature>()!.RawTarget = "";
        http.Request.Path = "/a b\r\n";
        Assert.Equal("/a%20b%0D%0A", RawRequestPath.Of(http));
    }
}
