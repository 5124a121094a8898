using Gantry.Tests.Support;
using System.Text.Json.Nodes;

namespace Gantry.Tests.Admin;

/// <summary>
/// Kong 3.9's schema rules for the core entities, one row per rule, each answered as Kong answers it (status,
/// <c>fields</c> and <c>message</c>) by a real node on each store: a regression names the rule it broke.
/// In a body, <c>{name}</c> becomes a fresh name; in a path, <c>{upstream}</c> an upstream made for the row.
/// </summary>
public abstract class SchemaFidelityTests(AdminNode node)
{
    /// <param name="Fields">The expected <c>fields</c> JSON for a 400; null for a success.</param>
    /// <param name="Message">The expected <c>message</c> for a 400, when it is worth pinning (multi-violation order).</param>
    public sealed record Rule(string Path, string Body, int Status, string? Fields = null, string? Message = null);

    private const string Conditional = "failed conditional validation given value of field";

    private static readonly Dictionary<string, Rule> Rules = new()
    {
        // ---- upstreams: hashing ----
        ["upstream: a cookie may be the fallback of another mode"] = new("/upstreams",
            """{"name": "{name}", "hash_on": "consumer", "hash_fallback": "cookie", "hash_on_cookie": "sticky"}""", 201),
        ["upstream: a cookie fallback needs hash_on_cookie"] = new("/upstreams",
            """{"name": "{name}", "hash_on": "consumer", "hash_fallback": "cookie"}""", 400,
            $$"""{"hash_on_cookie": "required field missing", "@entity": ["{{Conditional}} 'hash_fallback'"]}""",
            $"2 schema violations ({Conditional} 'hash_fallback'; hash_on_cookie: required field missing)"),
        ["upstream: hash_fallback equal to hash_on (consumer)"] = new("/upstreams",
            """{"name": "{name}", "hash_on": "consumer", "hash_fallback": "consumer"}""", 400,
            $$"""{"hash_fallback": "expected one of: none, ip, header, cookie, path, query_arg, uri_capture", "@entity": ["{{Conditional}} 'hash_on'"]}""",
            $"2 schema violations ({Conditional} 'hash_on'; hash_fallback: expected one of: none, ip, header, cookie, path, query_arg, uri_capture)"),
        ["upstream: hash_fallback equal to hash_on (ip)"] = new("/upstreams",
            """{"name": "{name}", "hash_on": "ip", "hash_fallback": "ip"}""", 400,
            $$"""{"hash_fallback": "expected one of: none, consumer, header, cookie, path, query_arg, uri_capture", "@entity": ["{{Conditional}} 'hash_on'"]}"""),
        ["upstream: hash_fallback equal to hash_on (path)"] = new("/upstreams",
            """{"name": "{name}", "hash_on": "path", "hash_fallback": "path"}""", 400,
            $$"""{"hash_fallback": "expected one of: none, consumer, header, cookie, query_arg, ip, uri_capture", "@entity": ["{{Conditional}} 'hash_on'"]}"""),
        ["upstream: hashing on a cookie takes no fallback"] = new("/upstreams",
            """{"name": "{name}", "hash_on": "cookie", "hash_on_cookie": "c", "hash_fallback": "ip"}""", 400,
            $$"""{"hash_fallback": "expected one of: none", "@entity": ["{{Conditional}} 'hash_on'"]}"""),
        ["upstream: hashing on a header needs hash_on_header"] = new("/upstreams",
            """{"name": "{name}", "hash_on": "header"}""", 400,
            $$"""{"hash_on_header": "required field missing", "@entity": ["{{Conditional}} 'hash_on'"]}"""),
        ["upstream: a query_arg fallback needs hash_fallback_query_arg"] = new("/upstreams",
            """{"name": "{name}", "hash_on": "ip", "hash_fallback": "query_arg"}""", 400,
            $$"""{"hash_fallback_query_arg": "required field missing", "@entity": ["{{Conditional}} 'hash_fallback'"]}"""),
        ["upstream: two headers hashed in turn must differ"] = new("/upstreams",
            """{"name": "{name}", "hash_on": "header", "hash_on_header": "X-A", "hash_fallback": "header", "hash_fallback_header": "X-A"}""", 400,
            """{"@entity": ["values of these fields must be distinct: 'hash_on_header', 'hash_fallback_header'"]}"""),
        ["upstream: two different headers may hash in turn"] = new("/upstreams",
            """{"name": "{name}", "hash_on": "header", "hash_on_header": "X-A", "hash_fallback": "header", "hash_fallback_header": "X-B"}""", 201),
        ["upstream: two query args hashed in turn must differ"] = new("/upstreams",
            """{"name": "{name}", "hash_on": "query_arg", "hash_on_query_arg": "q", "hash_fallback": "query_arg", "hash_fallback_query_arg": "q"}""", 400,
            """{"@entity": ["values of these fields must be distinct: 'hash_on_query_arg', 'hash_fallback_query_arg'"]}"""),
        ["upstream: two uri captures hashed in turn must differ"] = new("/upstreams",
            """{"name": "{name}", "hash_on": "uri_capture", "hash_on_uri_capture": "c", "hash_fallback": "uri_capture", "hash_fallback_uri_capture": "c"}""", 400,
            """{"@entity": ["values of these fields must be distinct: 'hash_on_uri_capture', 'hash_fallback_uri_capture'"]}"""),
        ["upstream: an https_sni that is an IP address"] = new("/upstreams",
            """{"name": "{name}", "healthchecks": {"active": {"https_sni": "10.0.0.1"}}}""", 400,
            """{"healthchecks": {"active": {"https_sni": "must not be an IP"}}}"""),
        ["upstream: an https_sni with a port"] = new("/upstreams",
            """{"name": "{name}", "healthchecks": {"active": {"https_sni": "a.test:443"}}}""", 400,
            """{"healthchecks": {"active": {"https_sni": "must not have a port"}}}"""),
        ["upstream: healthchecks concurrency between 1 and 2^31"] = new("/upstreams",
            """{"name": "{name}", "healthchecks": {"active": {"concurrency": 0}}}""", 400,
            """{"healthchecks": {"active": {"concurrency": "value should be between 1 and 2147483648"}}}"""),
        ["upstream: a name that is an IP address"] = new("/upstreams",
            """{"name": "10.0.0.1"}""", 400, """{"name": "Invalid name ('10.0.0.1'); no ip addresses allowed"}"""),
        ["upstream: a name with a port"] = new("/upstreams",
            """{"name": "a.test:80"}""", 400, """{"name": "Invalid name ('a.test:80'); no port allowed"}"""),
        ["upstream: slots between 10 and 65536"] = new("/upstreams",
            """{"name": "{name}", "slots": 65537}""", 400, """{"slots": "value should be between 10 and 65536"}"""),

        // ---- services ----
        ["service: a timeout above 2^31-2 is refused"] = new("/services",
            """{"host": "a.test", "connect_timeout": 2147483647}""", 400,
            """{"connect_timeout": "value should be between 1 and 2147483646"}""",
            "schema violation (connect_timeout: value should be between 1 and 2147483646)"),
        ["service: a timeout of 2^31-2 is accepted"] = new("/services",
            """{"host": "a.test", "read_timeout": 2147483646, "write_timeout": 2147483646}""", 201),
        ["service: a zero timeout is refused"] = new("/services",
            """{"host": "a.test", "write_timeout": 0}""", 400, """{"write_timeout": "value should be between 1 and 2147483646"}"""),
        ["service: a stream protocol takes no path"] = new("/services",
            """{"host": "a.test", "protocol": "tcp", "path": "/x"}""", 400,
            $$"""{"path": "value must be null", "@entity": ["{{Conditional}} 'protocol'"]}""",
            $"2 schema violations ({Conditional} 'protocol'; path: value must be null)"),
        ["service: tls_verify only where TLS is spoken upstream"] = new("/services",
            """{"host": "a.test", "protocol": "http", "tls_verify": true}""", 400,
            $$"""{"tls_verify": "value must be null", "@entity": ["{{Conditional}} 'protocol'"]}"""),
        ["service: a url without a host leaves the host missing"] = new("/services",
            """{"url": "not a url"}""", 400, """{"host": "required field missing"}"""),
        ["service: a host of digits is a malformed IPv4 address"] = new("/services",
            """{"host": "123"}""", 400, """{"host": "invalid value: 123"}"""),
        ["service: violations are listed by field name"] = new("/services",
            """{"retries": -1, "port": 70000, "host": "a.test", "connect_timeout": 0}""", 400,
            """{"retries": "value should be between 0 and 32767", "port": "value should be between 0 and 65535", "connect_timeout": "value should be between 1 and 2147483646"}""",
            "3 schema violations (connect_timeout: value should be between 1 and 2147483646; port: value should be between 0 and 65535; retries: value should be between 0 and 32767)"),
        ["service: a service path keeps to RFC 3986's characters"] = new("/services",
            """{"host": "a.test", "path": "/a{b}"}""", 400,
            """{"path": "invalid path: '/a{b}' (characters outside of the reserved list of RFC 3986 found)"}"""),

        // ---- targets ----
        ["target: digits alone are not an address"] = new("/upstreams/{upstream}/targets",
            """{"target": "123"}""", 400,
            """{"target": "Invalid target; not a valid hostname or ip address"}""",
            "schema violation (target: Invalid target; not a valid hostname or ip address)"),
        ["target: a port above 65535"] = new("/upstreams/{upstream}/targets",
            """{"target": "a.test:70000"}""", 400, """{"target": "Invalid target; not a valid hostname or ip address"}"""),
        ["target: a name that is no host name"] = new("/upstreams/{upstream}/targets",
            """{"target": "bad host"}""", 400, """{"target": "Invalid target; not a valid hostname or ip address"}"""),
        ["target: an IPv4 address with a port"] = new("/upstreams/{upstream}/targets",
            """{"target": "10.0.0.1:81"}""", 201),
        ["target: weight between 0 and 65535"] = new("/upstreams/{upstream}/targets",
            """{"target": "b.test", "weight": 65536}""", 400, """{"weight": "value should be between 0 and 65535"}"""),

        // ---- CA certificates: what kind of certificate is a rule of the entity ----
        ["certificate: cert_alt and key_alt go together"] = new("/certificates",
            """{"cert": {leaf_cert}, "key": {leaf_key}, "cert_alt": {ca}}""", 400,
            """{"@entity": ["all or none of these fields must be set: 'cert_alt', 'key_alt'"]}"""),
        ["certificate: the key must be the certificate's"] = new("/certificates",
            """{"cert": {leaf_cert}, "key": {private_key}}""", 400, """{"@entity": ["certificate does not match key"]}"""),

        ["certificate: an SNI with a wildcard inside"] = new("/certificates",
            """{"cert": {leaf_cert}, "key": {leaf_key}, "snis": ["a.*.test"]}""", 400,
            """{"snis": ["wildcard must be leftmost or rightmost character"]}"""),
        ["certificate: an SNI with two wildcards"] = new("/certificates",
            """{"cert": {leaf_cert}, "key": {leaf_key}, "snis": ["*.test.*"]}""", 400,
            """{"snis": ["only one wildcard must be specified"]}"""),
        ["certificate: an SNI that is an IP address"] = new("/certificates",
            """{"cert": {leaf_cert}, "key": {leaf_key}, "snis": ["10.0.0.1"]}""", 400, """{"snis": ["must not be an IP"]}"""),
        ["certificate: an SNI with a port"] = new("/certificates",
            """{"cert": {leaf_cert}, "key": {leaf_key}, "snis": ["a.test:443"]}""", 400, """{"snis": ["must not have a port"]}"""),
        ["certificate: an SNI that is no host name"] = new("/certificates",
            """{"cert": {leaf_cert}, "key": {leaf_key}, "snis": ["*.a b"]}""", 400, """{"snis": ["invalid value: wildcard.a b"]}"""),

        ["ca_certificate: exactly one certificate"] = new("/ca_certificates",
            """{"cert": {two_cas}}""", 400, """{"@entity": ["please submit only one certificate at a time"]}""",
            "schema violation (please submit only one certificate at a time)"),
        ["ca_certificate: not expired"] = new("/ca_certificates",
            """{"cert": {expired_ca}}""", 400, """{"@entity": ["certificate expired, \"Not After\" time is in the past"]}"""),
        ["ca_certificate: a CA"] = new("/ca_certificates",
            """{"cert": {leaf}}""", 400, """{"@entity": ["certificate does not appear to be a CA because it is missing the \"CA\" basic constraint"]}"""),
        ["ca_certificate: a CA is accepted"] = new("/ca_certificates", """{"cert": {ca}}""", 201),

        // ---- keys ----
        ["key: jwk and pem exclude each other"] = new("/keys",
            """{"kid": "k", "jwk": "{\"kid\":\"k\"}", "pem": {"public_key": {public_key}}}""", 400,
            """{"@entity": ["only one or none of these fields must be set: 'jwk', 'pem'"]}"""),
        ["key: jwk or pem is needed"] = new("/keys",
            """{"kid": "k"}""", 400, """{"@entity": ["at least one of these fields must be non-empty: 'jwk', 'pem'"]}"""),
        ["key: a pem record needs a key"] = new("/keys",
            """{"kid": "k", "pem": {}}""", 400, """{"pem": {"@entity": ["at least one of these fields must be non-empty: 'private_key', 'public_key'"]}}"""),
        ["key: a jwk must be JSON"] = new("/keys",
            """{"kid": "k", "jwk": "not json"}""", 400, """{"@entity": ["could not json decode jwk string"]}"""),
        ["key: the jwk's kid is the key's"] = new("/keys",
            """{"kid": "one", "jwk": "{\"kid\":\"two\",\"kty\":\"oct\"}"}""", 400, """{"@entity": ["kid in jwk.kid must be equal to keys.kid"]}"""),
        ["key: a public key that does not load"] = new("/keys",
            """{"kid": "k", "pem": {"public_key": "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----"}}""", 400,
            """{"pem": "could not load public key"}"""),
        ["key: a private key that does not load"] = new("/keys",
            """{"kid": "k", "pem": {"private_key": "nope"}}""", 400, """{"pem": "could not load private key"}"""),
        ["key: a pair must be one key"] = new("/keys",
            """{"kid": "k", "pem": {"public_key": {public_key}, "private_key": {private_key}}}""", 400,
            """{"pem": "public key does not match private key"}"""),

        // ---- vaults ----
        ["vault: an unknown vault type"] = new("/vaults",
            """{"name": "aws", "prefix": "my-aws"}""", 400, """{"name": "vault 'aws' is not installed"}"""),
        ["vault: a prefix may not name a vault type"] = new("/vaults",
            """{"name": "env", "prefix": "env"}""", 400, """{"prefix": "must not be one of: env"}"""),
        ["vault: a prefix is lower-case letters, digits and dashes"] = new("/vaults",
            """{"name": "env", "prefix": "My_Env"}""", 400, """{"prefix": "invalid value: My_Env"}"""),

        // ---- the plugins entity's own fields ----
        ["plugin: a plugin that is not enabled"] = new("/plugins",
            """{"name": "no-such-plugin"}""", 400,
            """{"name": "plugin 'no-such-plugin' not enabled; add it to the 'plugins' configuration property"}"""),
        ["plugin: an instance name with an ASCII character outside . - _ ~"] = new("/plugins",
            """{"name": "correlation-id", "instance_name": "a:b"}""", 400,
            """{"instance_name": "invalid value 'a:b': the only accepted ascii characters are alphanumerics or ., -, _, and ~"}"""),
        ["plugin: a protocol that is not one"] = new("/plugins",
            """{"name": "correlation-id", "instance_name": "{name}", "protocols": ["ftp"]}""", 400,
            """{"protocols": ["expected one of: grpc, grpcs, http, https"]}"""),

        // ---- routes (paths only; expression and priority belong to the expressions router) ----
        ["route: snis need a TLS protocol"] = new("/routes",
            """{"protocols": ["http"], "hosts": ["a.test"], "snis": ["a.test"]}""", 400,
            """{"snis": "length must be 0", "@entity": ["'snis' can only be set when 'protocols' is 'grpcs', 'https', 'tls' or 'tls_passthrough'"]}""",
            "2 schema violations ('snis' can only be set when 'protocols' is 'grpcs', 'https', 'tls' or 'tls_passthrough'; snis: length must be 0)"),
        ["route: a name beyond ASCII"] = new("/routes",
            """{"name": "caf\u00e9-{name}", "paths": ["/cafe"]}""", 201),
        ["route: a name with an ASCII character outside . - _ ~"] = new("/routes",
            """{"name": "a b", "paths": ["/ab"]}""", 400,
            """{"name": "invalid value 'a b': the only accepted ascii characters are alphanumerics or ., -, _, and ~"}"""),
        ["service: a name with an ASCII character outside . - _ ~"] = new("/services",
            """{"name": "a/b", "host": "a.test"}""", 400,
            """{"name": "invalid value 'a/b': the only accepted ascii characters are alphanumerics or ., -, _, and ~"}"""),
        ["route: a host of digits is a malformed IPv4 address"] = new("/routes",
            """{"hosts": ["123"]}""", 400, """{"hosts": ["invalid ipv4 address: 123"]}"""),
        ["route: a plain path may hold any character"] = new("/routes",
            """{"paths": ["/kong(-ee){0,1}.com"]}""", 201),
        ["route: a plain path's escapes must be valid"] = new("/routes",
            """{"paths": ["/a%zz"]}""", 400, """{"paths": ["invalid url-encoded value: '%zz'"]}"""),
        ["route: a plain path must be normalized"] = new("/routes",
            """{"paths": ["/a/../b"]}""", 400, """{"paths": ["non-normalized path, consider use '/b' instead"]}"""),
        ["route: an escaped unreserved character must be written plain"] = new("/routes",
            """{"paths": ["/%7Eu"]}""", 400, """{"paths": ["non-normalized path, consider use '/~u' instead"]}"""),
        ["route: a list's element errors are a list, null where an element is fine"] = new("/routes",
            """{"paths": ["/ok", "relative"]}""", 400, """{"paths": [null, "should start with: / (fixed path) or ~/ (regex path)"]}""",
            "schema violation (paths.2: should start with: / (fixed path) or ~/ (regex path))"),
        ["route: a plain path has no empty segments"] = new("/routes",
            """{"paths": ["/a//b"]}""", 400, """{"paths": ["must not have empty segments"]}"""),
    };

    public static TheoryData<string> RuleNames => [.. Rules.Keys];

    [Theory]
    [MemberData(nameof(RuleNames))]
    public async Task Rule_answers_as_Kong(string rule)
    {
        var row = Rules[rule];
        var path = row.Path;
        if (path.Contains("{upstream}", StringComparison.Ordinal))
        {
            var upstream = await node.CreateAsync("/upstreams", new { name = Fresh() });
            path = path.Replace("{upstream}", upstream["id"]!.GetValue<string>(), StringComparison.Ordinal);
        }
        var (status, body) = await node.PostAsync(path, Fill(row.Body));
        Assert.True(status == row.Status, $"{rule}: expected {row.Status}, got {status}: {body?.ToJsonString()}");
        if (row.Fields is not null)
        {
            Assert.Equal(2, body!["code"]!.GetValue<int>());
            Assert.Equal("schema violation", body["name"]!.GetValue<string>());
            var expected = JsonNode.Parse(row.Fields);
            Assert.True(JsonNode.DeepEquals(expected, body["fields"]), $"{rule}: fields {body["fields"]?.ToJsonString()}, expected {expected!.ToJsonString()}");
        }
        if (row.Message is not null)
            Assert.Equal(row.Message, body!["message"]!.GetValue<string>());
    }

    /// <summary>Fresh names, and PEM material made for the row, as JSON strings.</summary>
    private static string Fill(string body)
    {
        body = body.Replace("{name}", Fresh(), StringComparison.Ordinal);
        foreach (var (placeholder, make) in Pem)
        {
            if (body.Contains(placeholder, StringComparison.Ordinal))
                body = body.Replace(placeholder, JsonValue.Create(make()).ToJsonString(), StringComparison.Ordinal);
        }
        return body;
    }

    private static readonly TestCertificates.Pair Leaf = TestCertificates.Ecdsa();

    private static readonly (string Placeholder, Func<string> Make)[] Pem =
    [
        ("{two_cas}", () => TestCertificates.Ca().Cert + TestCertificates.Ca().Cert),
        ("{expired_ca}", () => TestCertificates.ExpiredCa().Cert),
        ("{leaf}", () => TestCertificates.Rsa().Cert),
        ("{ca}", () => TestCertificates.Ca().Cert),
        ("{leaf_cert}", () => Leaf.Cert),
        ("{leaf_key}", () => Leaf.Key),
        ("{public_key}", () => System.Security.Cryptography.ECDsa.Create().ExportSubjectPublicKeyInfoPem()),
        ("{private_key}", () => System.Security.Cryptography.ECDsa.Create().ExportPkcs8PrivateKeyPem()),
    ];

    private static string Fresh() => $"fid-{Guid.NewGuid():N}"[..20];
}

[Collection(AdminApiCollection.Name)]
public sealed class SqliteSchemaFidelityTests(SqliteAdminNode node) : SchemaFidelityTests(node), IClassFixture<SqliteAdminNode>;

[Collection(AdminApiCollection.Name)]
public sealed class PostgresSchemaFidelityTests(PostgresAdminNode node) : SchemaFidelityTests(node), IClassFixture<PostgresAdminNode>;
