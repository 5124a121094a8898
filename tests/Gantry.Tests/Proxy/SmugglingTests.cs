using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Gantry.Tests.Support;
using static Gantry.Tests.Support.ProxyNode;

namespace Gantry.Tests.Proxy;

/// <summary>
/// Request smuggling and splitting attempts written byte by byte to a real node, which proxies to an
/// upstream that records every byte (<see cref="SmugglingUpstream"/>). For each attempt the upstream must
/// receive exactly one well-formed request carrying the client's path still percent-encoded, or nothing
/// when the node refuses the request with 400; never a second request, an injected header, the client's
/// Content-Length beside a Transfer-Encoding, or a header Gantry made up from one it dropped.
/// </summary>
public abstract class SmugglingTests(SmugglingNode node)
{
    /// <summary>What the node must do with an attempt.</summary>
    public sealed record Attempt(string Name, string Request, int Status, string? Target = null, string? ForwardedPath = null,
        string? Body = null)
    {
        public bool Forwarded => Status == 200;

        public override string ToString() => Name;
    }

    private const string SmugglingPath = "/load/x%0d%0aContent-Length:%200%0d%0a%0d%0aGET%20/smuggled%20HTTP/1.1%0d%0aHost:%20internal.example";
    private const string Chunked = "5\r\nhello\r\n0\r\n\r\n";

    /// <summary>
    /// The attempts. <c>{host}</c> stands for the proxy's address. Every request but the pipelining ones
    /// asks to close the connection, so that the client reads one answer to its end.
    /// </summary>
    public static readonly Attempt[] Attempts =
    [
        // Encoded CR, LF and NUL travel encoded: in the request line and in X-Forwarded-Path alike.
        new("encoded CRLF in the path cannot split the request", Get(SmugglingPath), 200,
            Target: SmugglingPath["/load".Length..], ForwardedPath: SmugglingPath),
        new("a bare encoded LF in the path cannot inject a header", Get("/load/a%0aX-Injected:%20yes"), 200,
            Target: "/a%0aX-Injected:%20yes", ForwardedPath: "/load/a%0aX-Injected:%20yes"),
        // Kestrel refuses a path whose decoded form has a NUL.
        new("an encoded NUL in the path is refused", Get("/load/a%00b"), 400),
        new("encoded CR, LF and NUL in the query stay encoded", Get("/load/q?x=%0d%0aX-Injected:%20yes%00&y=%0A"), 200,
            Target: "/q?x=%0d%0aX-Injected:%20yes%00&y=%0A", ForwardedPath: "/load/q"),
        new("upper-case escapes are kept as sent", Get("/load/%0D%0AX-Injected:%20yes"), 200,
            Target: "/%0D%0AX-Injected:%20yes", ForwardedPath: "/load/%0D%0AX-Injected:%20yes"),
        new("strip_path under a service path keeps the escapes", Get("/based/a%20b%0d%0aX-Injected:%20yes/c"), 200,
            Target: "/base/a%20b%0d%0aX-Injected:%20yes/c", ForwardedPath: "/based/a%20b%0d%0aX-Injected:%20yes/c"),
        new("a route that keeps its path forwards the escapes", Get("/kept/%0d%0aX-Injected:%20yes"), 200,
            Target: "/kept/%0d%0aX-Injected:%20yes", ForwardedPath: "/kept/%0d%0aX-Injected:%20yes"),
        // Matching normalises (unreserved escapes decoded, dot segments resolved); X-Forwarded-Path is the path as received.
        new("unreserved escapes and dot segments are normalised, X-Forwarded-Path is not", Get("/load/%7Euser/%2e%2e/ok"), 200,
            Target: "/ok", ForwardedPath: "/load/%7Euser/%2e%2e/ok"),
        new("an encoded slash stays encoded", Get("/load/a%2Fb"), 200, Target: "/a%2Fb", ForwardedPath: "/load/a%2Fb"),

        // Content-Length beside Transfer-Encoding: the chunked framing wins and the length is dropped.
        new("Content-Length then Transfer-Encoding", Post("/load/cl-te", "Content-Length: 4\r\nTransfer-Encoding: chunked\r\n", Chunked), 200,
            Target: "/cl-te", Body: "hello"),
        // Kestrel adds an X-Content-Length of its own and fails on the client's: the connection drops unanswered.
        new("X-Content-Length beside Content-Length and Transfer-Encoding is dropped with the connection",
            Post("/load/x", "X-Content-Length: 4\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n", Chunked), 0),
        new("Transfer-Encoding then Content-Length", Post("/load/te-cl", "Transfer-Encoding: chunked\r\nContent-Length: 40\r\n", Chunked), 200,
            Target: "/te-cl", Body: "hello"),
        new("Content-Length beside chunked with a tab before the value", Post("/load/te-tab", "Content-Length: 3\r\nTransfer-Encoding:\tchunked\r\n", Chunked), 200,
            Target: "/te-tab", Body: "hello"),
        new("Transfer-Encoding xchunked is refused", Post("/load/x", "Content-Length: 16\r\nTransfer-Encoding: xchunked\r\n", Chunked), 400),
        new("Transfer-Encoding chunked, identity is refused", Post("/load/x", "Content-Length: 16\r\nTransfer-Encoding: chunked, identity\r\n", Chunked), 400),
        new("chunked then identity on two lines is refused", Post("/load/x", "Transfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\nContent-Length: 16\r\n", Chunked), 400),
        new("a space before the colon of Transfer-Encoding is refused", Post("/load/x", "Transfer-Encoding : chunked\r\nContent-Length: 16\r\n", Chunked), 400),
        new("chunked over HTTP/1.0 is refused", Post("/load/x", "Transfer-Encoding: chunked\r\nContent-Length: 16\r\n", Chunked, "HTTP/1.0"), 400),

        // Two lengths are never guessed between, even when they agree.
        new("duplicate equal Content-Length is refused", Post("/load/x", "Content-Length: 5\r\nContent-Length: 5\r\n", "hello"), 400),
        new("duplicate different Content-Length is refused", Post("/load/x", "Content-Length: 5\r\nContent-Length: 0\r\n", "hello"), 400),
        new("a Content-Length list is refused", Post("/load/x", "Content-Length: 5, 5\r\n", "hello"), 400),
        // Kestrel reads "+5" as 5; the upstream gets the length Gantry read, so the two cannot disagree.
        new("a signed Content-Length is forwarded as the length it was read as", Post("/load/signed", "Content-Length: +5\r\n", "hello"), 200,
            Target: "/signed", Body: "hello"),

        // Line folding and stray line breaks.
        new("an obs-fold header line is refused", Raw("GET /load/x HTTP/1.1\r\nHost: {host}\r\nX-Folded: a\r\n b\r\nConnection: close\r\n\r\n"), 400),
        new("an obs-fold continuing Transfer-Encoding is refused",
            Post("/load/x", "Transfer-Encoding: identity\r\n chunked\r\nContent-Length: 16\r\n", Chunked), 400),
        new("a bare CR inside a header value is refused", Raw("GET /load/x HTTP/1.1\r\nHost: {host}\r\nX-A: a\rX-Injected: yes\r\nConnection: close\r\n\r\n"), 400),
        new("a NUL inside a header value is refused", Raw("GET /load/x HTTP/1.1\r\nHost: {host}\r\nX-A: a\0b\r\nConnection: close\r\n\r\n"), 400),
        new("a raw space in the target is refused", Raw("GET /load/a b HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"), 400),
        new("bare LF line endings reach the upstream as one request with CRLF", Raw("GET /load/lf%0a HTTP/1.1\nHost: {host}\nConnection: close\n\n"), 200,
            Target: "/lf%0a", ForwardedPath: "/load/lf%0a"),

        // Absolute-form: the path inside the URI is what is forwarded; an authority other than Host is refused.
        new("an absolute-form target forwards its path, still encoded", Raw("GET http://{host}/load/abs%0d%0aX-Injected:%20yes?q=%0a HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"), 200,
            Target: "/abs%0d%0aX-Injected:%20yes?q=%0a", ForwardedPath: "/load/abs%0d%0aX-Injected:%20yes"),
        new("an absolute-form target naming another host is refused", Raw("GET http://internal.example/load/x HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"), 400),

        // Bytes after a body end with the connection: they are never forwarded, not as a second request nor inside the first.
        new("bytes after a Content-Length body are not forwarded",
            Post("/load/body", "Content-Length: 5\r\n", "helloGET /smuggled HTTP/1.1\r\nHost: internal.example\r\n\r\n"), 200, Target: "/body", Body: "hello"),
        new("bytes after a chunked body are not forwarded",
            Post("/load/chunks", "Transfer-Encoding: chunked\r\n", Chunked + "GET /smuggled HTTP/1.1\r\nHost: internal.example\r\n\r\n"), 200, Target: "/chunks", Body: "hello"),
        new("a chunk extension cannot hide a second request",
            Post("/load/ext", "Transfer-Encoding: chunked\r\n", "5;a=\"b\r\nGET /smuggled HTTP/1.1\r\n\r\nhello\r\n0\r\n\r\n"), 400),
    ];

    public static TheoryData<string> AttemptNames()
    {
        var data = new TheoryData<string>();
        foreach (var attempt in Attempts)
            data.Add(attempt.Name);
        return data;
    }

    private static string Get(string target) => $"GET {target} HTTP/1.1\r\nHost: {{host}}\r\nConnection: close\r\n\r\n";

    private static string Post(string target, string framing, string body, string version = "HTTP/1.1") =>
        $"POST {target} {version}\r\nHost: {{host}}\r\nContent-Type: text/plain\r\n{framing}Connection: close\r\n\r\n{body}";

    private static string Raw(string request) => request;

    [Theory]
    [MemberData(nameof(AttemptNames))]
    public async Task The_upstream_receives_exactly_what_the_client_sent_or_nothing(string name)
    {
        var attempt = Attempts.Single(a => a.Name == name);
        node.Upstream.Clear();
        var (status, response) = await SendRawAsync(node.ProxyAddress, attempt.Request.Replace("{host}", node.ProxyAddress));
        // A smuggled request would follow the first on the same upstream connection: read it to its end.
        await node.Upstream.SettleAsync(TimeSpan.FromSeconds(5));
        var requests = node.Upstream.Requests;
        var received = string.Join("\n---\n", node.Upstream.Connections.Select(c => Encoding.Latin1.GetString(c.Bytes)));

        Assert.True(status == attempt.Status, $"expected {attempt.Status}, got {status}:\n{response}\nupstream received:\n{received}");
        if (!attempt.Forwarded)
        {
            Assert.True(requests.Count == 0, "the upstream received:\n" + received);
            return;
        }
        var request = Assert.Single(requests);
        Assert.Single(node.Upstream.Connections);
        Assert.Equal(attempt.Target, request.Target);
        if (attempt.ForwardedPath is { } path)
        {
            Assert.Equal(path, request.Single("X-Forwarded-Path"));
            // strip_path routes name what they stripped: the route's own path, not the bytes the client sent.
            Assert.Equal(path.StartsWith("/kept/") ? null : "/" + path.Split('/')[1], request.Single("X-Forwarded-Prefix"));
        }
        if (attempt.Body is { } body)
            Assert.Equal(body, Encoding.Latin1.GetString(request.Body));
        AssertWellFormed(request, node.Upstream.Connections[0].Bytes);
    }

    [Fact]
    public async Task A_header_value_with_a_line_break_is_refused_whoever_wrote_it()
    {
        // key-auth sends the consumer's username upstream, and the Admin API takes any string as a username.
        foreach (var key in node.NulConsumer ? new[] { "crlf-key", "nul-key" } : ["crlf-key"])
        {
            node.Upstream.Clear();
            var (refused, answer) = await SendRawAsync(node.ProxyAddress, $"GET /auth/x HTTP/1.1\r\nHost: {node.ProxyAddress}\r\napikey: {key}\r\nConnection: close\r\n\r\n");
            await node.Upstream.SettleAsync(TimeSpan.FromSeconds(5));
            Assert.True(refused == 400, answer + "\nupstream received:\n" + string.Join("\n---\n", node.Upstream.Connections.Select(c => Encoding.Latin1.GetString(c.Bytes))));
            Assert.Contains("{\"message\":\"Bad request\"", answer);
            Assert.Empty(node.Upstream.Connections);
        }

        node.Upstream.Clear();
        var (status, response) = await SendRawAsync(node.ProxyAddress, $"GET /auth/x HTTP/1.1\r\nHost: {node.ProxyAddress}\r\napikey: fine-key\r\nConnection: close\r\n\r\n");
        await node.Upstream.SettleAsync(TimeSpan.FromSeconds(5));
        Assert.True(status == 200, response);
        var request = Assert.Single(node.Upstream.Requests);
        Assert.Equal("fine", request.Single("X-Consumer-Username"));
        AssertWellFormed(request, node.Upstream.Connections[0].Bytes);
    }

    /// <summary>What no forwarded request may carry, whatever the attempt.</summary>
    private static void AssertWellFormed(ReceivedRequest request, byte[] bytes)
    {
        Assert.False(request.Has("X-Injected"), "an injected header reached the upstream");
        Assert.False(request.Has("X-Content-Length"), "the client's Content-Length came through renamed");
        Assert.True(request.Values("Content-Length").Count <= 1, "more than one Content-Length");
        Assert.False(request.Has("Content-Length") && request.Has("Transfer-Encoding"), "Content-Length beside Transfer-Encoding");
        Assert.Equal(3, request.RequestLine.Split(' ').Length);
        Assert.EndsWith(" HTTP/1.1", request.RequestLine);
        // Every line break is CRLF and no byte of the head is a control character: the lenient parser
        // and a strict one read the same request.
        var headEnd = IndexOf(bytes, "\r\n\r\n"u8);
        Assert.True(headEnd > 0, "no end of head");
        for (var i = 0; i < headEnd; i++)
        {
            var b = bytes[i];
            if (b == '\r')
                Assert.True(bytes[i + 1] == '\n', $"a bare CR at byte {i}");
            else if (b == '\n')
                Assert.True(bytes[i - 1] == '\r', $"a bare LF at byte {i}");
            else
                Assert.True(b >= 0x20 && b != 0x7F || b == '\t', $"control byte 0x{b:X2} at byte {i}");
        }
    }

    private static int IndexOf(byte[] haystack, ReadOnlySpan<byte> needle) => haystack.AsSpan().IndexOf(needle);

    /// <summary>Writes the request as given and reads the answer until the node closes the connection.</summary>
    private static async Task<(int Status, string Response)> SendRawAsync(string address, string request)
    {
        var (host, port) = (address[..address.LastIndexOf(':')], int.Parse(address[(address.LastIndexOf(':') + 1)..]));
        using var client = new TcpClient();
        await client.ConnectAsync(host, port);
        await using var stream = client.GetStream();
        await stream.WriteAsync(Encoding.Latin1.GetBytes(request));
        using var read = new MemoryStream();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        try
        {
            await stream.CopyToAsync(read, timeout.Token);
        }
        catch (IOException)
        {
            // A refusal may reset the connection after its answer; what was read is the answer.
        }
        var text = Encoding.Latin1.GetString(read.ToArray());
        var parts = text.Split(' ', 3);
        return (parts.Length >= 2 && int.TryParse(parts[1], out var status) ? status : 0, text);
    }
}

/// <summary>
/// One node and one recording upstream for a whole class: a service at the upstream's root with a route
/// on /load (strip_path), a service under /base with a route on /based (strip_path), and a route on /kept
/// that keeps its path; a route on /auth behind key-auth, with consumers whose usernames have a CRLF or a NUL.
/// </summary>
public abstract class SmugglingNode(string store, string forwarder = "auto", ProxyIo io = ProxyIo.Epoll) : IAsyncLifetime
{
    private TestInstallation? _gantry;
    private GantryProcess? _process;

    public SmugglingUpstream Upstream { get; } = new();

    /// <summary>Whether a consumer whose username has a NUL exists (key "nul-key").</summary>
    public bool NulConsumer => store == "sqlite";

    /// <summary>host:port of the proxy listener.</summary>
    public string ProxyAddress { get; private set; } = "";

    public async Task InitializeAsync()
    {
        _gantry = await TestInstallation.CreateAsync(store);
        _gantry.Environment["GANTRY_PROXY_FORWARDER"] = forwarder;
        ForwarderSuite.Configure(_gantry.Environment, io);
        _process = await StartAsync(_gantry);
        ProxyAddress = ProxyUrl(_gantry)["http://".Length..];
        var upstream = $"http://127.0.0.1:{Upstream.Port}";
        await CreateAsync(_gantry, "/services", new { name = "load", url = upstream });
        await CreateAsync(_gantry, "/services/load/routes", new { name = "load", paths = new[] { "/load" } });
        await CreateAsync(_gantry, "/services/load/routes", new { name = "kept", paths = new[] { "/kept" }, strip_path = false });
        await CreateAsync(_gantry, "/services", new { name = "based", url = upstream + "/base" });
        await CreateAsync(_gantry, "/services/based/routes", new { name = "based", paths = new[] { "/based" } });
        await CreateAsync(_gantry, "/services/load/routes", new { name = "auth", paths = new[] { "/auth" } });
        await CreateAsync(_gantry, "/routes/auth/plugins", new { name = "key-auth" });
        // The Admin API refuses a NUL in any value, and PostgreSQL's text cannot hold one: that consumer's
        // username gets its NUL by hand on SQLite only.
        var consumers = new List<(string, string)> { ("evil\r\nX-Injected: yes", "crlf-key"), ("fine", "fine-key") };
        if (NulConsumer)
            consumers.Add(("nul-byte", "nul-key"));
        foreach (var (username, key) in consumers)
        {
            var consumer = await Http.PostAsJsonAsync(_gantry.AdminUrl + "/consumers", new { username });
            Assert.Equal(System.Net.HttpStatusCode.Created, consumer.StatusCode);
            var id = (await consumer.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString();
            if (username == "nul-byte")
                await _gantry.ExecuteAsync("UPDATE consumers SET username = 'nul' || char(0) || 'byte' WHERE username = 'nul-byte'");
            await CreateAsync(_gantry, $"/consumers/{id}/key-auth", new { key });
        }
        if (NulConsumer)
        {
            // A snapshot built between the consumer's write and the UPDATE keeps the name without the NUL
            // (the UPDATE sends no change event): a restart reads every consumer as stored.
            await _process!.DisposeAsync();
            _process = await StartAsync(_gantry);
        }
        foreach (var path in new[] { "/load", "/kept", "/based" })
            Assert.Equal(System.Net.HttpStatusCode.OK, (await UntilRoutedAsync(ProxyUrl(_gantry) + path, TimeSpan.FromSeconds(20))).StatusCode);
        var keyed = await UntilAsync(() => Http.GetAsync(ProxyUrl(_gantry) + "/auth"), r => r.StatusCode == System.Net.HttpStatusCode.Unauthorized, TimeSpan.FromSeconds(20));
        Assert.Equal(System.Net.HttpStatusCode.Unauthorized, keyed.StatusCode);
    }

    public async Task DisposeAsync()
    {
        if (_process is not null)
            await _process.DisposeAsync();
        await Upstream.DisposeAsync();
        if (_gantry is not null)
            await _gantry.DisposeAsync();
    }
}

public sealed class SqliteSmugglingNode() : SmugglingNode("sqlite");

/// <summary>The same node with YARP's forwarder (proxy_forwarder = yarp), so that both forwarders pass the suite.</summary>
public sealed class YarpSmugglingNode() : SmugglingNode("sqlite", "yarp");

public sealed class PooledIoSmugglingNode() : SmugglingNode("sqlite", io: ProxyIo.Pooled);

public sealed class InlineIoSmugglingNode() : SmugglingNode("sqlite", io: ProxyIo.Inline);

public sealed class PostgresSmugglingNode() : SmugglingNode("postgres");

public sealed class SmugglingTestsSqlite(SqliteSmugglingNode node) : SmugglingTests(node), IClassFixture<SqliteSmugglingNode>;

public sealed class SmugglingTestsPostgres(PostgresSmugglingNode node) : SmugglingTests(node), IClassFixture<PostgresSmugglingNode>;

public sealed class SmugglingTestsYarp(YarpSmugglingNode node) : SmugglingTests(node), IClassFixture<YarpSmugglingNode>;

public sealed class SmugglingTestsPooledIo(PooledIoSmugglingNode node) : SmugglingTests(node), IClassFixture<PooledIoSmugglingNode>;

public sealed class SmugglingTestsInlineIo(InlineIoSmugglingNode node) : SmugglingTests(node), IClassFixture<InlineIoSmugglingNode>;
