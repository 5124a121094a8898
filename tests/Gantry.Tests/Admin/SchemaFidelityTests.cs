using Gantry.Tests.Support;
using System.Text.Json.Nodes;

namespace Gantry.Tests.Admin;

/// <summary>
/// Kong 3.9's schema rules for the core entities, one row per rule, each answered as Kong answers it (status,
/// <c>fields</c> and <c>message</c>) by a real node on each store: a regression names the rule it broke.
/// In a body, <c>{name}</c> becomes a fresh name; in a path, <c>{upstream}</c>, <c>{service}</c> and
/// <c>{consumer}</c> an entity made for the row (plugin rows post to <c>/services/{service}/plugins</c> so that
/// the instances they create never collide).
/// </summary>
public abstract class SchemaFidelityTests(AdminNode node)
{
    private const string Conditional = SchemaRule.Conditional;

    private static readonly Dictionary<string, SchemaRule> CoreRules = new()
    {
        // ---- upstreams: hashing ----
        ["upstream: a cookie may be the fallback of another mode"] = new SchemaRule("/upstreams",
            """{"name": "{name}", "hash_on": "consumer", "hash_fallback": "cookie", "hash_on_cookie": "sticky"}""", 201),
        ["upstream: a cookie fallback needs hash_on_cookie"] = new SchemaRule("/upstreams",
            """{"name": "{name}", "hash_on": "consumer", "hash_fallback": "cookie"}""", 400,
            $$"""{"hash_on_cookie": "required field missing", "@entity": ["{{Conditional}} 'hash_fallback'"]}""",
            $"2 schema violations ({Conditional} 'hash_fallback'; hash_on_cookie: required field missing)"),
        ["upstream: hash_fallback equal to hash_on (consumer)"] = new SchemaRule("/upstreams",
            """{"name": "{name}", "hash_on": "consumer", "hash_fallback": "consumer"}""", 400,
            $$"""{"hash_fallback": "expected one of: none, ip, header, cookie, path, query_arg, uri_capture", "@entity": ["{{Conditional}} 'hash_on'"]}""",
            $"2 schema violations ({Conditional} 'hash_on'; hash_fallback: expected one of: none, ip, header, cookie, path, query_arg, uri_capture)"),
        ["upstream: hash_fallback equal to hash_on (ip)"] = new SchemaRule("/upstreams",
            """{"name": "{name}", "hash_on": "ip", "hash_fallback": "ip"}""", 400,
            $$"""{"hash_fallback": "expected one of: none, consumer, header, cookie, path, query_arg, uri_capture", "@entity": ["{{Conditional}} 'hash_on'"]}"""),
        ["upstream: hash_fallback equal to hash_on (path)"] = new SchemaRule("/upstreams",
            """{"name": "{name}", "hash_on": "path", "hash_fallback": "path"}""", 400,
            $$"""{"hash_fallback": "expected one of: none, consumer, header, cookie, query_arg, ip, uri_capture", "@entity": ["{{Conditional}} 'hash_on'"]}"""),
        ["upstream: hashing on a cookie takes no fallback"] = new SchemaRule("/upstreams",
            """{"name": "{name}", "hash_on": "cookie", "hash_on_cookie": "c", "hash_fallback": "ip"}""", 400,
            $$"""{"hash_fallback": "expected one of: none", "@entity": ["{{Conditional}} 'hash_on'"]}"""),
        ["upstream: hashing on a header needs hash_on_header"] = new SchemaRule("/upstreams",
            """{"name": "{name}", "hash_on": "header"}""", 400,
            $$"""{"hash_on_header": "required field missing", "@entity": ["{{Conditional}} 'hash_on'"]}"""),
        ["upstream: a query_arg fallback needs hash_fallback_query_arg"] = new SchemaRule("/upstreams",
            """{"name": "{name}", "hash_on": "ip", "hash_fallback": "query_arg"}""", 400,
            $$"""{"hash_fallback_query_arg": "required field missing", "@entity": ["{{Conditional}} 'hash_fallback'"]}"""),
        ["upstream: two headers hashed in turn must differ"] = new SchemaRule("/upstreams",
            """{"name": "{name}", "hash_on": "header", "hash_on_header": "X-A", "hash_fallback": "header", "hash_fallback_header": "X-A"}""", 400,
            """{"@entity": ["values of these fields must be distinct: 'hash_on_header', 'hash_fallback_header'"]}"""),
        ["upstream: two different headers may hash in turn"] = new SchemaRule("/upstreams",
            """{"name": "{name}", "hash_on": "header", "hash_on_header": "X-A", "hash_fallback": "header", "hash_fallback_header": "X-B"}""", 201),
        ["upstream: two query args hashed in turn must differ"] = new SchemaRule("/upstreams",
            """{"name": "{name}", "hash_on": "query_arg", "hash_on_query_arg": "q", "hash_fallback": "query_arg", "hash_fallback_query_arg": "q"}""", 400,
            """{"@entity": ["values of these fields must be distinct: 'hash_on_query_arg', 'hash_fallback_query_arg'"]}"""),
        ["upstream: two uri captures hashed in turn must differ"] = new SchemaRule("/upstreams",
            """{"name": "{name}", "hash_on": "uri_capture", "hash_on_uri_capture": "c", "hash_fallback": "uri_capture", "hash_fallback_uri_capture": "c"}""", 400,
            """{"@entity": ["values of these fields must be distinct: 'hash_on_uri_capture', 'hash_fallback_uri_capture'"]}"""),
        ["upstream: an https_sni that is an IP address"] = new SchemaRule("/upstreams",
            """{"name": "{name}", "healthchecks": {"active": {"https_sni": "10.0.0.1"}}}""", 400,
            """{"healthchecks": {"active": {"https_sni": "must not be an IP"}}}"""),
        ["upstream: an https_sni with a port"] = new SchemaRule("/upstreams",
            """{"name": "{name}", "healthchecks": {"active": {"https_sni": "a.test:443"}}}""", 400,
            """{"healthchecks": {"active": {"https_sni": "must not have a port"}}}"""),
        ["upstream: healthchecks concurrency between 1 and 2^31"] = new SchemaRule("/upstreams",
            """{"name": "{name}", "healthchecks": {"active": {"concurrency": 0}}}""", 400,
            """{"healthchecks": {"active": {"concurrency": "value should be between 1 and 2147483648"}}}"""),
        ["upstream: a name that is an IP address"] = new SchemaRule("/upstreams",
            """{"name": "10.0.0.1"}""", 400, """{"name": "Invalid name ('10.0.0.1'); no ip addresses allowed"}"""),
        ["upstream: a name with a port"] = new SchemaRule("/upstreams",
            """{"name": "a.test:80"}""", 400, """{"name": "Invalid name ('a.test:80'); no port allowed"}"""),
        ["upstream: slots between 10 and 65536"] = new SchemaRule("/upstreams",
            """{"name": "{name}", "slots": 65537}""", 400, """{"slots": "value should be between 10 and 65536"}"""),

        ["upstream: the hashing rules run beside a field error they do not read"] = new SchemaRule("/upstreams",
            """{"name": "{name}", "hash_on": "header", "slots": 5}""", 400,
            $$"""{"slots": "value should be between 10 and 65536", "hash_on_header": "required field missing", "@entity": ["{{Conditional}} 'hash_on'"]}""",
            $"3 schema violations ({Conditional} 'hash_on'; hash_on_header: required field missing; slots: value should be between 10 and 65536)"),
        ["upstream: an active probe's timeout between 0 and 65535 seconds"] = new SchemaRule("/upstreams",
            """{"name": "{name}", "healthchecks": {"active": {"timeout": 65536}}}""", 400,
            """{"healthchecks": {"active": {"timeout": "value should be between 0 and 65535"}}}"""),
        ["upstream: a probe interval is not negative"] = new SchemaRule("/upstreams",
            """{"name": "{name}", "healthchecks": {"active": {"healthy": {"interval": -1}}}}""", 400,
            """{"healthchecks": {"active": {"healthy": {"interval": "value should be between 0 and 65535"}}}}"""),
        ["upstream: a success count fits a byte"] = new SchemaRule("/upstreams",
            """{"name": "{name}", "healthchecks": {"active": {"healthy": {"successes": 256}}}}""", 400,
            """{"healthchecks": {"active": {"healthy": {"successes": "value should be between 0 and 255"}}}}"""),
        ["upstream: a passive tcp failure count fits a byte"] = new SchemaRule("/upstreams",
            """{"name": "{name}", "healthchecks": {"passive": {"unhealthy": {"tcp_failures": 256}}}}""", 400,
            """{"healthchecks": {"passive": {"unhealthy": {"tcp_failures": "value should be between 0 and 255"}}}}"""),
        ["upstream: an http status between 100 and 999"] = new SchemaRule("/upstreams",
            """{"name": "{name}", "healthchecks": {"active": {"unhealthy": {"http_statuses": [500, 99]}}}}""", 400,
            """{"healthchecks": {"active": {"unhealthy": {"http_statuses": [null, "value should be between 100 and 999"]}}}}"""),
        ["upstream: a passive check's type"] = new SchemaRule("/upstreams",
            """{"name": "{name}", "healthchecks": {"passive": {"type": "udp"}}}""", 400,
            """{"healthchecks": {"passive": {"type": "expected one of: tcp, http, https, grpc, grpcs"}}}"""),
        ["upstream: an active grpcs check"] = new SchemaRule("/upstreams",
            """{"name": "{name}", "healthchecks": {"active": {"type": "grpcs", "https_sni": "a.test", "headers": {"x-a": ["b"]}}}}""", 201),
        ["upstream: an active probe's headers hold lists"] = new SchemaRule("/upstreams",
            """{"name": "{name}", "healthchecks": {"active": {"headers": {"x-a": "b"}}}}""", 400,
            """{"healthchecks": {"active": {"headers": "expected an array"}}}"""),
        ["upstream: an active probe's path starts with /"] = new SchemaRule("/upstreams",
            """{"name": "{name}", "healthchecks": {"active": {"http_path": "status"}}}""", 400,
            """{"healthchecks": {"active": {"http_path": "should start with: /"}}}"""),
        ["upstream: a health threshold between 0 and 100"] = new SchemaRule("/upstreams",
            """{"name": "{name}", "healthchecks": {"threshold": 101}}""", 400,
            """{"healthchecks": {"threshold": "value should be between 0 and 100"}}"""),
        ["upstream: an unknown healthchecks field"] = new SchemaRule("/upstreams",
            """{"name": "{name}", "healthchecks": {"active": {"port": 81}}}""", 400,
            """{"healthchecks": {"active": {"port": "unknown field"}}}"""),
        ["upstream: an algorithm Kong knows"] = new SchemaRule("/upstreams",
            """{"name": "{name}", "algorithm": "random"}""", 400,
            """{"algorithm": "expected one of: consistent-hashing, least-connections, round-robin, latency"}"""),

        // ---- consumers ----
        ["consumer: a username or a custom_id"] = new SchemaRule("/consumers",
            """{"tags": ["t"]}""", 400,
            """{"@entity": ["at least one of these fields must be non-empty: 'custom_id', 'username'"]}""",
            "schema violation (at least one of these fields must be non-empty: 'custom_id', 'username')"),
        ["consumer: the username-or-custom_id rule runs beside a bad tag"] = new SchemaRule("/consumers",
            """{"tags": [1]}""", 400,
            """{"tags": ["expected a string"], "@entity": ["at least one of these fields must be non-empty: 'custom_id', 'username'"]}""",
            "2 schema violations (at least one of these fields must be non-empty: 'custom_id', 'username'; tags.1: expected a string)"),
        ["consumer: the username-or-custom_id rule waits for the fields it reads"] = new SchemaRule("/consumers",
            """{"username": 5}""", 400, """{"username": "expected a string"}"""),
        ["consumer: an empty username"] = new SchemaRule("/consumers",
            """{"username": ""}""", 400, """{"username": "length must be at least 1"}"""),
        ["consumer: a custom_id alone"] = new SchemaRule("/consumers",
            """{"custom_id": "{name}"}""", 201),

        // ---- services ----
        ["service: a timeout above 2^31-2 is refused"] = new SchemaRule("/services",
            """{"host": "a.test", "connect_timeout": 2147483647}""", 400,
            """{"connect_timeout": "value should be between 1 and 2147483646"}""",
            "schema violation (connect_timeout: value should be between 1 and 2147483646)"),
        ["service: a timeout of 2^31-2 is accepted"] = new SchemaRule("/services",
            """{"host": "a.test", "read_timeout": 2147483646, "write_timeout": 2147483646}""", 201),
        ["service: a zero timeout is refused"] = new SchemaRule("/services",
            """{"host": "a.test", "write_timeout": 0}""", 400, """{"write_timeout": "value should be between 1 and 2147483646"}"""),
        ["service: a stream protocol takes no path"] = new SchemaRule("/services",
            """{"host": "a.test", "protocol": "tcp", "path": "/x"}""", 400,
            $$"""{"path": "value must be null", "@entity": ["{{Conditional}} 'protocol'"]}""",
            $"2 schema violations ({Conditional} 'protocol'; path: value must be null)"),
        ["service: tls_verify only where TLS is spoken upstream"] = new SchemaRule("/services",
            """{"host": "a.test", "protocol": "http", "tls_verify": true}""", 400,
            $$"""{"tls_verify": "value must be null", "@entity": ["{{Conditional}} 'protocol'"]}"""),
        ["service: a url without a host leaves the host missing"] = new SchemaRule("/services",
            """{"url": "not a url"}""", 400, """{"host": "required field missing"}"""),
        ["service: a host of digits is a malformed IPv4 address"] = new SchemaRule("/services",
            """{"host": "123"}""", 400, """{"host": "invalid value: 123"}"""),
        ["service: violations are listed by field name"] = new SchemaRule("/services",
            """{"retries": -1, "port": 70000, "host": "a.test", "connect_timeout": 0}""", 400,
            """{"retries": "value should be between 0 and 32767", "port": "value should be between 0 and 65535", "connect_timeout": "value should be between 1 and 2147483646"}""",
            "3 schema violations (connect_timeout: value should be between 1 and 2147483646; port: value should be between 0 and 65535; retries: value should be between 0 and 32767)"),
        ["service: a protocol rule runs beside a field error it does not read"] = new SchemaRule("/services",
            """{"host": "a.test", "protocol": "tcp", "path": "/x", "retries": -1}""", 400,
            $$"""{"retries": "value should be between 0 and 32767", "path": "value must be null", "@entity": ["{{Conditional}} 'protocol'"]}""",
            $"3 schema violations ({Conditional} 'protocol'; path: value must be null; retries: value should be between 0 and 32767)"),
        ["service: a protocol rule waits for the field it reads"] = new SchemaRule("/services",
            """{"host": "a.test", "protocol": "http", "tls_verify": "yes", "tls_verify_depth": 3}""", 400,
            $$"""{"tls_verify": "expected a boolean", "tls_verify_depth": "value must be null", "@entity": ["{{Conditional}} 'protocol'"]}"""),
        ["service: a service path keeps to RFC 3986's characters"] = new SchemaRule("/services",
            """{"host": "a.test", "path": "/a{b}"}""", 400,
            """{"path": "invalid path: '/a{b}' (characters outside of the reserved list of RFC 3986 found)"}"""),

        // ---- targets ----
        ["target: digits alone are not an address"] = new SchemaRule("/upstreams/{upstream}/targets",
            """{"target": "123"}""", 400,
            """{"target": "Invalid target; not a valid hostname or ip address"}""",
            "schema violation (target: Invalid target; not a valid hostname or ip address)"),
        ["target: a port above 65535"] = new SchemaRule("/upstreams/{upstream}/targets",
            """{"target": "a.test:70000"}""", 400, """{"target": "Invalid target; not a valid hostname or ip address"}"""),
        ["target: a name that is no host name"] = new SchemaRule("/upstreams/{upstream}/targets",
            """{"target": "bad host"}""", 400, """{"target": "Invalid target; not a valid hostname or ip address"}"""),
        ["target: an IPv4 address with a port"] = new SchemaRule("/upstreams/{upstream}/targets",
            """{"target": "10.0.0.1:81"}""", 201),
        ["target: weight between 0 and 65535"] = new SchemaRule("/upstreams/{upstream}/targets",
            """{"target": "b.test", "weight": 65536}""", 400, """{"weight": "value should be between 0 and 65535"}"""),

        ["target: a negative weight"] = new SchemaRule("/upstreams/{upstream}/targets",
            """{"target": "c.test", "weight": -1}""", 400, """{"weight": "value should be between 0 and 65535"}"""),
        ["target: a weight of 0 is accepted"] = new SchemaRule("/upstreams/{upstream}/targets",
            """{"target": "d.test", "weight": 0}""", 201),
        ["target: an IPv6 address with a port"] = new SchemaRule("/upstreams/{upstream}/targets",
            """{"target": "[::1]:8080"}""", 201),
        ["target: the target is required"] = new SchemaRule("/upstreams/{upstream}/targets",
            """{"weight": 10}""", 400, """{"target": "required field missing"}"""),

        // ---- CA certificates: what kind of certificate is a rule of the entity ----
        ["certificate: cert_alt and key_alt go together"] = new SchemaRule("/certificates",
            """{"cert": {leaf_cert}, "key": {leaf_key}, "cert_alt": {leaf}}""", 400,
            """{"@entity": ["all or none of these fields must be set: 'cert_alt', 'key_alt'"]}"""),
        ["certificate: the key must be the certificate's"] = new SchemaRule("/certificates",
            """{"cert": {leaf_cert}, "key": {private_key}}""", 400, """{"@entity": ["certificate does not match key"]}"""),

        ["certificate: the pair rules run beside a field error they do not read"] = new SchemaRule("/certificates",
            """{"cert": {leaf_cert}, "key": {private_key}, "cert_alt": {leaf_cert}, "tags": [1]}""", 400,
            """{"tags": ["expected a string"], "@entity": ["all or none of these fields must be set: 'cert_alt', 'key_alt'", "certificate does not match key", "certificate and alternative certificate need to have different type (e.g. RSA and ECDSA), the provided certificates were both of the same type"]}"""),
        ["certificate: a pair rule waits for the fields it reads"] = new SchemaRule("/certificates",
            """{"cert": {leaf_cert}, "key": 1, "cert_alt": {leaf_cert}}""", 400,
            """{"key": "expected a string", "@entity": ["all or none of these fields must be set: 'cert_alt', 'key_alt'", "certificate and alternative certificate need to have different type (e.g. RSA and ECDSA), the provided certificates were both of the same type"]}"""),
        ["certificate: an SNI with a wildcard inside"] = new SchemaRule("/certificates",
            """{"cert": {leaf_cert}, "key": {leaf_key}, "snis": ["a.*.test"]}""", 400,
            """{"snis": ["wildcard must be leftmost or rightmost character"]}"""),
        ["certificate: an SNI with two wildcards"] = new SchemaRule("/certificates",
            """{"cert": {leaf_cert}, "key": {leaf_key}, "snis": ["*.test.*"]}""", 400,
            """{"snis": ["only one wildcard must be specified"]}"""),
        ["certificate: an SNI that is an IP address"] = new SchemaRule("/certificates",
            """{"cert": {leaf_cert}, "key": {leaf_key}, "snis": ["10.0.0.1"]}""", 400, """{"snis": ["must not be an IP"]}"""),
        ["certificate: an SNI with a port"] = new SchemaRule("/certificates",
            """{"cert": {leaf_cert}, "key": {leaf_key}, "snis": ["a.test:443"]}""", 400, """{"snis": ["must not have a port"]}"""),
        ["certificate: an SNI that is no host name"] = new SchemaRule("/certificates",
            """{"cert": {leaf_cert}, "key": {leaf_key}, "snis": ["*.a b"]}""", 400, """{"snis": ["invalid value: wildcard.a b"]}"""),

        ["ca_certificate: exactly one certificate"] = new SchemaRule("/ca_certificates",
            """{"cert": {two_cas}}""", 400, """{"@entity": ["please submit only one certificate at a time"]}""",
            "schema violation (please submit only one certificate at a time)"),
        ["ca_certificate: not expired"] = new SchemaRule("/ca_certificates",
            """{"cert": {expired_ca}}""", 400, """{"@entity": ["certificate expired, \"Not After\" time is in the past"]}"""),
        ["ca_certificate: a CA"] = new SchemaRule("/ca_certificates",
            """{"cert": {leaf}}""", 400, """{"@entity": ["certificate does not appear to be a CA because it is missing the \"CA\" basic constraint"]}"""),
        ["ca_certificate: the certificate rule runs beside a field error it does not read"] = new SchemaRule("/ca_certificates",
            """{"cert": {leaf}, "tags": [1]}""", 400,
            """{"tags": ["expected a string"], "@entity": ["certificate does not appear to be a CA because it is missing the \"CA\" basic constraint"]}"""),
        ["ca_certificate: a CA is accepted"] = new SchemaRule("/ca_certificates", """{"cert": {ca}}""", 201),

        // ---- keys ----
        ["key: jwk and pem exclude each other"] = new SchemaRule("/keys",
            """{"kid": "k", "jwk": "{\"kid\":\"k\"}", "pem": {"public_key": {public_key}}}""", 400,
            """{"@entity": ["only one or none of these fields must be set: 'jwk', 'pem'"]}"""),
        ["key: each format rule runs, and beside a field error it does not read"] = new SchemaRule("/keys",
            """{"kid": "k", "jwk": "not json", "pem": {"public_key": {public_key}}, "tags": [1]}""", 400,
            """{"tags": ["expected a string"], "@entity": ["only one or none of these fields must be set: 'jwk', 'pem'", "could not json decode jwk string"]}"""),
        ["key: a format rule waits for the fields it reads"] = new SchemaRule("/keys",
            """{"kid": 5}""", 400,
            """{"kid": "expected a string", "@entity": ["at least one of these fields must be non-empty: 'jwk', 'pem'"]}"""),
        ["key: jwk or pem is needed"] = new SchemaRule("/keys",
            """{"kid": "k"}""", 400, """{"@entity": ["at least one of these fields must be non-empty: 'jwk', 'pem'"]}"""),
        ["key: a pem record needs a key"] = new SchemaRule("/keys",
            """{"kid": "k", "pem": {}}""", 400, """{"pem": {"@entity": ["at least one of these fields must be non-empty: 'private_key', 'public_key'"]}}"""),
        ["key: a jwk must be JSON"] = new SchemaRule("/keys",
            """{"kid": "k", "jwk": "not json"}""", 400, """{"@entity": ["could not json decode jwk string"]}"""),
        ["key: the jwk's kid is the key's"] = new SchemaRule("/keys",
            """{"kid": "one", "jwk": "{\"kid\":\"two\",\"kty\":\"oct\"}"}""", 400, """{"@entity": ["kid in jwk.kid must be equal to keys.kid"]}"""),
        ["key: a public key that does not load"] = new SchemaRule("/keys",
            """{"kid": "k", "pem": {"public_key": "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----"}}""", 400,
            """{"pem": "could not load public key"}"""),
        ["key: a private key that does not load"] = new SchemaRule("/keys",
            """{"kid": "k", "pem": {"private_key": "nope"}}""", 400, """{"pem": "could not load private key"}"""),
        ["key: a pair must be one key"] = new SchemaRule("/keys",
            """{"kid": "k", "pem": {"public_key": {public_key}, "private_key": {private_key}}}""", 400,
            """{"pem": "public key does not match private key"}"""),

        // ---- vaults ----
        ["vault: an unknown vault type"] = new SchemaRule("/vaults",
            """{"name": "aws", "prefix": "my-aws"}""", 400, """{"name": "vault 'aws' is not installed"}"""),
        ["vault: a prefix may not name a vault type"] = new SchemaRule("/vaults",
            """{"name": "env", "prefix": "env"}""", 400, """{"prefix": "must not be one of: env"}"""),
        ["vault: a prefix is lower-case letters, digits and dashes"] = new SchemaRule("/vaults",
            """{"name": "env", "prefix": "My_Env"}""", 400, """{"prefix": "invalid value: My_Env"}"""),

        // ---- the plugins entity's own fields ----
        ["plugin: a plugin that is not enabled"] = new SchemaRule("/plugins",
            """{"name": "no-such-plugin"}""", 400,
            """{"name": "plugin 'no-such-plugin' not enabled; add it to the 'plugins' configuration property"}"""),
        ["plugin: an instance name with an ASCII character outside . - _ ~"] = new SchemaRule("/plugins",
            """{"name": "correlation-id", "instance_name": "a:b"}""", 400,
            """{"instance_name": "invalid value 'a:b': the only accepted ascii characters are alphanumerics or ., -, _, and ~"}"""),
        ["plugin: a protocol that is not one"] = new SchemaRule("/plugins",
            """{"name": "correlation-id", "instance_name": "{name}", "protocols": ["ftp"]}""", 400,
            """{"protocols": ["expected one of: grpc, grpcs, http, https"]}"""),

        ["plugin: a plugin that takes no consumer"] = new SchemaRule("/consumers/{consumer}/plugins",
            """{"name": "cors"}""", 400, """{"consumer": "value must be null"}""",
            "schema violation (consumer: value must be null)"),
        ["plugin: an unknown config field"] = new SchemaRule("/services/{service}/plugins",
            """{"name": "cors", "config": {"foo": 1}}""", 400, """{"config": {"foo": "unknown field"}}""",
            "schema violation (config.foo: unknown field)"),
        ["plugin: an unknown field of the plugin entity"] = new SchemaRule("/services/{service}/plugins",
            """{"name": "cors", "foo": 1}""", 400, """{"foo": "unknown field"}"""),
        ["plugin: enabled is a boolean"] = new SchemaRule("/services/{service}/plugins",
            """{"name": "cors", "enabled": "yes"}""", 400, """{"enabled": "expected a boolean"}"""),
        ["plugin: a stream protocol for a plugin that runs on any"] = new SchemaRule("/services/{service}/plugins",
            """{"name": "ip-restriction", "protocols": ["tcp"], "config": {"allow": ["10.0.0.0/8"]}}""", 201),
        ["plugin: a protocol outside the plugin's"] = new SchemaRule("/services/{service}/plugins",
            """{"name": "cors", "protocols": ["http", "tcp"]}""", 400,
            """{"protocols": [null, "expected one of: grpc, grpcs, http, https"]}"""),

        // ---- routes (paths only; expression and priority belong to the expressions router) ----
        ["route: snis need a TLS protocol"] = new SchemaRule("/routes",
            """{"protocols": ["http"], "hosts": ["a.test"], "snis": ["a.test"]}""", 400,
            """{"snis": "length must be 0", "@entity": ["'snis' can only be set when 'protocols' is 'grpcs', 'https', 'tls' or 'tls_passthrough'"]}""",
            "2 schema violations ('snis' can only be set when 'protocols' is 'grpcs', 'https', 'tls' or 'tls_passthrough'; snis: length must be 0)"),
        ["route: a name beyond ASCII"] = new SchemaRule("/routes",
            """{"name": "caf\u00e9-{name}", "paths": ["/cafe"]}""", 201),
        ["route: a name with an ASCII character outside . - _ ~"] = new SchemaRule("/routes",
            """{"name": "a b", "paths": ["/ab"]}""", 400,
            """{"name": "invalid value 'a b': the only accepted ascii characters are alphanumerics or ., -, _, and ~"}"""),
        ["service: a name with an ASCII character outside . - _ ~"] = new SchemaRule("/services",
            """{"name": "a/b", "host": "a.test"}""", 400,
            """{"name": "invalid value 'a/b': the only accepted ascii characters are alphanumerics or ., -, _, and ~"}"""),
        ["route: a host of digits is a malformed IPv4 address"] = new SchemaRule("/routes",
            """{"hosts": ["123"]}""", 400, """{"hosts": ["invalid ipv4 address: 123"]}"""),
        ["route: a plain path may hold any character"] = new SchemaRule("/routes",
            """{"paths": ["/kong(-ee){0,1}.com"]}""", 201),
        ["route: a plain path's escapes must be valid"] = new SchemaRule("/routes",
            """{"paths": ["/a%zz"]}""", 400, """{"paths": ["invalid url-encoded value: '%zz'"]}"""),
        ["route: a plain path must be normalized"] = new SchemaRule("/routes",
            """{"paths": ["/a/../b"]}""", 400, """{"paths": ["non-normalized path, consider use '/b' instead"]}"""),
        ["route: an escaped unreserved character must be written plain"] = new SchemaRule("/routes",
            """{"paths": ["/%7Eu"]}""", 400, """{"paths": ["non-normalized path, consider use '/~u' instead"]}"""),
        ["route: a list's element errors are a list, null where an element is fine"] = new SchemaRule("/routes",
            """{"paths": ["/ok", "relative"]}""", 400, """{"paths": [null, "should start with: / (fixed path) or ~/ (regex path)"]}""",
            "schema violation (paths.2: should start with: / (fixed path) or ~/ (regex path))"),
        // ---- routes: what each protocol family must and must not match on ----
        ["route: the default protocols need something to match (https's list)"] = new SchemaRule("/routes",
            """{"name": "{name}"}""", 400,
            """{"@entity": ["must set one of 'methods', 'hosts', 'headers', 'paths', 'snis' when 'protocols' is 'https'"]}""",
            "schema violation (must set one of 'methods', 'hosts', 'headers', 'paths', 'snis' when 'protocols' is 'https')"),
        ["route: an http route needs something to match"] = new SchemaRule("/routes",
            """{"protocols": ["http"]}""", 400,
            """{"@entity": ["must set one of 'methods', 'hosts', 'headers', 'paths' when 'protocols' is 'http'"]}"""),
        ["route: an http route may match on methods alone"] = new SchemaRule("/routes",
            """{"protocols": ["http"], "methods": ["PURGE"]}""", 201),
        ["route: an http route takes no sources"] = new SchemaRule("/routes",
            """{"protocols": ["http"], "paths": ["/s"], "sources": [{"ip": "10.0.0.1"}]}""", 400,
            """{"sources": "cannot set 'sources' when 'protocols' is 'http' or 'https'"}"""),
        ["route: an https route takes no destinations"] = new SchemaRule("/routes",
            """{"protocols": ["https"], "paths": ["/d"], "destinations": [{"port": 80}]}""", 400,
            """{"destinations": "cannot set 'destinations' when 'protocols' is 'http' or 'https'"}"""),
        ["route: protocols from two families"] = new SchemaRule("/routes",
            """{"protocols": ["http", "tcp"], "paths": ["/m"]}""", 400,
            """{"protocols": "these sets are mutually exclusive: ('http', 'https'), ('tcp', 'tls', 'udp')"}"""),
        ["route: protocols must not be empty"] = new SchemaRule("/routes",
            """{"protocols": [], "paths": ["/e"]}""", 400, """{"protocols": "length must be at least 1"}"""),
        ["route: a grpc route takes no methods"] = new SchemaRule("/routes",
            """{"protocols": ["grpc"], "paths": ["/g"], "methods": ["GET"]}""", 400,
            """{"methods": "cannot set 'methods' when 'protocols' is 'grpc' or 'grpcs'"}"""),
        ["route: a grpc route does not strip the path by default"] = new SchemaRule("/routes",
            """{"protocols": ["grpc"], "paths": ["/g"]}""", 201),
        ["route: a grpc route may not strip the path"] = new SchemaRule("/routes",
            """{"protocols": ["grpcs"], "paths": ["/g"], "strip_path": true}""", 400,
            """{"strip_path": "cannot set 'strip_path' when 'protocols' is 'grpc' or 'grpcs'"}"""),
        ["route: a grpc route takes no destinations"] = new SchemaRule("/routes",
            """{"protocols": ["grpc"], "paths": ["/g"], "destinations": [{"port": 80}]}""", 400,
            """{"destinations": "cannot set 'destinations' when 'protocols' is 'grpc' or 'grpcs'"}"""),
        ["route: grpc and grpcs need something to match (grpcs's list)"] = new SchemaRule("/routes",
            """{"protocols": ["grpc", "grpcs"]}""", 400,
            """{"@entity": ["must set one of 'hosts', 'headers', 'paths', 'snis' when 'protocols' is 'grpcs'"]}"""),
        ["route: a grpc route needs something to match"] = new SchemaRule("/routes",
            """{"protocols": ["grpc"]}""", 400,
            """{"@entity": ["must set one of 'hosts', 'headers', 'paths' when 'protocols' is 'grpc'"]}"""),
        ["route: a stream route takes no methods"] = new SchemaRule("/routes",
            """{"protocols": ["tcp"], "destinations": [{"port": 81}], "methods": ["GET"]}""", 400,
            """{"methods": "cannot set 'methods' when 'protocols' is 'tcp', 'tls', 'tls_passthrough' or 'udp'"}"""),
        ["route: a stream route takes no hosts"] = new SchemaRule("/routes",
            """{"protocols": ["udp"], "destinations": [{"port": 81}], "hosts": ["a.test"]}""", 400,
            """{"hosts": "cannot set 'hosts' when 'protocols' is 'tcp', 'tls', 'tls_passthrough' or 'udp'"}"""),
        ["route: a stream route takes no paths"] = new SchemaRule("/routes",
            """{"protocols": ["tls"], "snis": ["a.test"], "paths": ["/p"]}""", 400,
            """{"paths": "cannot set 'paths' when 'protocols' is 'tcp', 'tls', 'tls_passthrough' or 'udp'"}"""),
        ["route: a stream route takes no headers"] = new SchemaRule("/routes",
            """{"protocols": ["tcp"], "sources": [{"ip": "10.0.0.0/8"}], "headers": {"x-a": ["b"]}}""", 400,
            """{"headers": "cannot set 'headers' when 'protocols' is 'tcp', 'tls', 'tls_passthrough' or 'udp'"}"""),
        ["route: a stream route needs a source, destination or SNI"] = new SchemaRule("/routes",
            """{"protocols": ["tcp", "udp"]}""", 400,
            """{"@entity": ["must set one of 'sources', 'destinations', 'snis' when 'protocols' is 'tcp', 'tls' or 'udp'"]}"""),
        ["route: a tls_passthrough route needs snis"] = new SchemaRule("/routes",
            """{"protocols": ["tls_passthrough"], "destinations": [{"port": 443}]}""", 400,
            """{"@entity": ["must set snis when 'protocols' is 'tls_passthrough'"]}"""),
        ["route: the protocol rules run beside a field error they do not read"] = new SchemaRule("/routes",
            """{"protocols": ["tcp"], "destinations": [{"port": 82}], "methods": ["GET"], "regex_priority": "high"}""", 400,
            """{"methods": "cannot set 'methods' when 'protocols' is 'tcp', 'tls', 'tls_passthrough' or 'udp'", "regex_priority": "expected an integer"}""",
            "2 schema violations (methods: cannot set 'methods' when 'protocols' is 'tcp', 'tls', 'tls_passthrough' or 'udp'; regex_priority: expected an integer)"),
        ["route: nothing to match and a bad field, both reported"] = new SchemaRule("/routes",
            """{"protocols": ["http"], "preserve_host": 1}""", 400,
            """{"preserve_host": "expected a boolean", "@entity": ["must set one of 'methods', 'hosts', 'headers', 'paths' when 'protocols' is 'http'"]}"""),
        ["route: a tcp route on a CIDR source and a port"] = new SchemaRule("/routes",
            """{"protocols": ["tcp"], "sources": [{"ip": "10.1.0.0/16", "port": 1234}], "destinations": [{"ip": "fd00::1"}]}""", 201),

        // ---- routes: sources and destinations ----
        ["route: a source needs an ip or a port"] = new SchemaRule("/routes",
            """{"protocols": ["tcp"], "sources": [{}]}""", 400,
            """{"sources": [{"@entity": ["at least one of these fields must be non-empty: 'ip', 'port'"]}]}"""),
        ["route: a source ip that is no address or CIDR block"] = new SchemaRule("/routes",
            """{"protocols": ["tcp"], "sources": [{"ip": "300.0.0.1"}]}""", 400,
            """{"sources": [{"ip": "invalid ip or cidr range: '300.0.0.1'"}]}"""),
        ["route: a destination port above 65535"] = new SchemaRule("/routes",
            """{"protocols": ["tcp"], "destinations": [{"port": 70000}]}""", 400,
            """{"destinations": [{"port": "value should be between 0 and 65535"}]}"""),
        ["route: a source's unknown field"] = new SchemaRule("/routes",
            """{"protocols": ["tcp"], "sources": [{"ip": "10.0.0.1", "host": "a"}]}""", 400,
            """{"sources": [{"host": "unknown field"}]}"""),

        // ---- routes: methods, headers, hosts and the other fields ----
        ["route: methods are upper-case"] = new SchemaRule("/routes",
            """{"methods": ["get"]}""", 400, """{"methods": ["invalid value: get"]}""",
            "schema violation (methods.1: invalid value: get)"),
        ["route: a header named host"] = new SchemaRule("/routes",
            """{"headers": {"HOST": ["a.test"]}}""", 400,
            """{"headers": "cannot contain 'host' header, which must be specified in the 'hosts' attribute"}"""),
        ["route: a header's values are a list"] = new SchemaRule("/routes",
            """{"headers": {"x-a": "b"}}""", 400, """{"headers": "expected an array"}"""),
        ["route: a header value may be a case-insensitive regex"] = new SchemaRule("/routes",
            """{"headers": {"x-version": ["~*^v[0-9]+$"]}}""", 201),
        ["route: a host with two wildcards"] = new SchemaRule("/routes",
            """{"hosts": ["*.a.*"]}""", 400, """{"hosts": ["invalid wildcard: must have at most one wildcard"]}"""),
        ["route: a host's wildcard in the middle"] = new SchemaRule("/routes",
            """{"hosts": ["a.*.test"]}""", 400, """{"hosts": ["invalid wildcard: must be placed at leftmost or rightmost label"]}"""),
        ["route: a host with a port"] = new SchemaRule("/routes",
            """{"hosts": ["a.test:8080"]}""", 201),
        ["route: https_redirect_status_code is one of Kong's five"] = new SchemaRule("/routes",
            """{"paths": ["/r"], "https_redirect_status_code": 303}""", 400,
            """{"https_redirect_status_code": "expected one of: 426, 301, 302, 307, 308"}"""),
        ["route: path_handling is v0 or v1"] = new SchemaRule("/routes",
            """{"paths": ["/r"], "path_handling": "v2"}""", 400, """{"path_handling": "expected one of: v0, v1"}"""),
        ["route: regex_priority is an integer"] = new SchemaRule("/routes",
            """{"paths": ["/r"], "regex_priority": 1.5}""", 400, """{"regex_priority": "expected an integer"}"""),
        ["route: request_buffering is a boolean"] = new SchemaRule("/routes",
            """{"paths": ["/r"], "request_buffering": "no"}""", 400, """{"request_buffering": "expected a boolean"}"""),
        ["route: an SNI may be a wildcard"] = new SchemaRule("/routes",
            """{"protocols": ["https"], "snis": ["*.a.test"]}""", 201),
        ["route: a plain path has no empty segments"] = new SchemaRule("/routes",
            """{"paths": ["/a//b"]}""", 400, """{"paths": ["must not have empty segments"]}"""),
    };

    /// <summary>Every table of rules: the core entities' here, the bundled plugins' in their own files.</summary>
    private static readonly Dictionary<string, SchemaRule> Rules = new[] { CoreRules, AuthPluginSchemaRules.Rules, TrafficPluginSchemaRules.Rules }
        .SelectMany(table => table).ToDictionary();

    public static TheoryData<string> RuleNames => [.. Rules.Keys];

    [Theory]
    [MemberData(nameof(RuleNames))]
    public Task Rule_answers_as_Kong(string rule) => AnswersAsKongAsync(node, rule, Rules[rule]);

    /// <summary>Posts a row to the node and checks the answer; shared by the tables that need a node of their own.</summary>
    internal static async Task AnswersAsKongAsync(AdminNode node, string rule, SchemaRule row)
    {
        var path = row.Path;
        if (path.Contains("{upstream}", StringComparison.Ordinal))
        {
            var upstream = await node.CreateAsync("/upstreams", new { name = Fresh() });
            path = path.Replace("{upstream}", upstream["id"]!.GetValue<string>(), StringComparison.Ordinal);
        }
        if (path.Contains("{service}", StringComparison.Ordinal))
        {
            var service = await node.CreateAsync("/services", new { name = Fresh(), host = "a.test" });
            path = path.Replace("{service}", service["id"]!.GetValue<string>(), StringComparison.Ordinal);
        }
        if (path.Contains("{consumer}", StringComparison.Ordinal))
        {
            var consumer = await node.CreateAsync("/consumers", new { username = Fresh() });
            path = path.Replace("{consumer}", consumer["id"]!.GetValue<string>(), StringComparison.Ordinal);
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
