using Gantry.Configuration;

namespace Gantry.Tests.Configuration;

/// <summary>
/// The rules of the two hybrid roles: each wrong mix is refused with the property named, and the
/// certificate files are read, parsed and matched before a node starts.
/// </summary>
public sealed class HybridConfTests(ClusterCertificateFiles files) : IClassFixture<ClusterCertificateFiles>
{
    /// <summary>{cert}, {key}, {other-key}, {ca}, {not-pem}, {dir}: the fixture's files.</summary>
    private string Expand(string text) => text
        .Replace("{cert}", files.Cert).Replace("{key}", files.Key).Replace("{other-key}", files.OtherKey)
        .Replace("{ca}", files.Ca).Replace("{not-pem}", files.NotPem).Replace("{dir}", files.Directory)
        .Replace("{cp}", files.ControlPlane).Replace("{dp}", files.DataPlane);

    private List<string> ErrorsOf(string text) =>
        ConfLoader.LoadText(Expand(text)).Errors.Select(e => e.ToString()).ToList();

    [Theory]
    // Roles and datastores.
    [InlineData("{cp}database = off", "database: a control plane stores the configuration it pushes, so it needs postgres or sqlite, got 'off'")]
    [InlineData("{dp}database = postgres", "database: a data plane receives its configuration from the control plane and must run with database = off, got 'postgres'")]
    [InlineData("{dp}database = sqlite", "database: a data plane receives its configuration from the control plane and must run with database = off, got 'sqlite'")]
    // Listeners each role cannot do without.
    [InlineData("{cp}cluster_listen = off", "cluster_listen: must not be off on a control plane")]
    [InlineData("{cp}admin_listen = off", "admin_listen: must not be off on a control plane")]
    [InlineData("{dp}proxy_listen = off", "proxy_listen: must not be off on a data plane")]
    // The shared certificate and its key.
    [InlineData("role = data_plane\ndatabase = off\ncluster_cert_key = {key}", "cluster_cert_key: is set but cluster_cert is not")]
    [InlineData("{cp}cluster_cert = {dir}/absent.crt", "cluster_cert: '{dir}/absent.crt' is neither an existing file, PEM text nor base64-encoded PEM")]
    [InlineData("{cp}cluster_cert = {dir}", "cluster_cert: '{dir}' is a folder; give a PEM file")]
    [InlineData("{cp}cluster_cert = {not-pem}", "cluster_cert: invalid certificate: no PEM certificate found in '{not-pem}'")]
    [InlineData("{cp}cluster_cert = {key}", "cluster_cert: invalid certificate: no PEM certificate found in '{key}'")]
    [InlineData("{cp}cluster_cert_key = {dir}/absent.key", "cluster_cert_key: the value is neither an existing file, PEM text nor base64-encoded PEM")]
    [InlineData("{cp}cluster_cert_key = {cert}", "cluster_cert_key: holds no PEM private key (-----BEGIN PRIVATE KEY----- or its RSA or EC form) in '{cert}'")]
    [InlineData("{dp}cluster_cert_key = {other-key}", "cluster_cert_key: is not the private key of cluster_cert")]
    // pki modes need the CA, on both sides; a CA that is not a certificate is refused.
    [InlineData("{cp}cluster_mtls = pki", "cluster_ca_cert: must be set when cluster_mtls is pki: it is the CA that the data planes' certificates are checked against")]
    [InlineData("{dp}cluster_mtls = pki", "cluster_ca_cert: must be set when cluster_mtls is pki: it is the CA that the control plane's certificates are checked against")]
    [InlineData("{cp}cluster_mtls = pki_check_cn", "cluster_ca_cert: must be set when cluster_mtls is pki_check_cn")]
    [InlineData("{dp}cluster_mtls = pki_check_cn", "cluster_ca_cert: must be set when cluster_mtls is pki_check_cn")]
    [InlineData("{dp}cluster_mtls = pki\ncluster_ca_cert = {key}", "cluster_ca_cert: invalid certificate: no PEM certificate found in '{key}'")]
    // The control plane's address and the labels.
    [InlineData("{dp}cluster_control_plane = cp.internal", "cluster_control_plane: expected host:port, got 'cp.internal'")]
    [InlineData("{dp}cluster_control_plane = https://cp.internal:8005", "cluster_control_plane: expected host:port, got 'https://cp.internal:8005'")]
    [InlineData("{dp}cluster_dp_labels = region", "cluster_dp_labels: expected key:value pairs, got 'region'")]
    [InlineData("{dp}cluster_dp_labels = region:eu, zone:", "cluster_dp_labels: invalid label value '' in 'zone:'")]
    [InlineData("{dp}cluster_dp_labels = :eu", "cluster_dp_labels: invalid label key '' in ':eu'")]
    [InlineData("{dp}cluster_dp_labels = _kong:x", "cluster_dp_labels: invalid label key '_kong' in '_kong:x'")]
    [InlineData("{dp}cluster_dp_labels = tier:gold tier", "cluster_dp_labels: invalid label value 'gold tier'")]
    [InlineData("{dp}cluster_dp_labels = tier:a, tier:b", "cluster_dp_labels: label key 'tier' is given more than once")]
    public void Wrong_mix_is_refused_naming_the_property(string text, string expected)
    {
        var errors = ErrorsOf(text);

        Assert.True(errors.Count == 1, string.Join(Environment.NewLine, errors));
        Assert.StartsWith(Expand(expected), errors[0]);
    }

    [Theory]
    [InlineData("role = control_plane")]
    [InlineData("role = data_plane\ndatabase = off")]
    public void Hybrid_role_without_any_cluster_certificate_reports_both(string text)
    {
        var errors = ErrorsOf(text);
        var role = text.Split('\n')[0]["role = ".Length..];

        Assert.Equal(2, errors.Count);
        Assert.StartsWith($"cluster_cert: must be set when role is {role} (make a pair with 'gantry hybrid gen_cert')", errors[0]);
        Assert.StartsWith($"cluster_cert_key: must be set when role is {role}", errors[1]);
    }

    [Fact]
    public void Every_wrong_property_is_reported_at_once()
    {
        var errors = ErrorsOf("role = control_plane\ndatabase = off\ncluster_listen = off\ncluster_mtls = pki\ncluster_cert = {cert}\ncluster_cert_key = {other-key}");

        Assert.Equal(["database", "cluster_listen", "cluster_cert_key", "cluster_ca_cert"], errors.Select(e => e[..e.IndexOf(':')]));
    }

    [Fact]
    public void Private_key_text_is_never_repeated_in_an_error()
    {
        const string secret = "c2VjcmV0LWJ1dC1ub3QtYS1rZXk=";
        var errors = ErrorsOf("{cp}cluster_cert_key = " + secret);

        Assert.Single(errors);
        Assert.DoesNotContain(secret, errors[0]);
    }

    [Fact]
    public void Valid_hybrid_setups_load()
    {
        var dataPlane = ConfLoader.LoadText(Expand("{dp}cluster_dp_labels = region:eu-west-1, tier:gold"));
        var controlPlane = ConfLoader.LoadText(Expand("{cp}"));
        var pki = ConfLoader.LoadText(Expand("{cp}cluster_mtls = pki_check_cn\ncluster_ca_cert = {ca}"));

        Assert.True(dataPlane.IsValid && controlPlane.IsValid && pki.IsValid,
            string.Join(Environment.NewLine, dataPlane.Errors.Concat(controlPlane.Errors).Concat(pki.Errors)));
        Assert.Equal(NodeRole.DataPlane, dataPlane.Config!.Role);
        Assert.Equal("cp.internal:8005", dataPlane.Config.ClusterControlPlane);
        Assert.Equal(["region:eu-west-1", "tier:gold"], dataPlane.Config.ClusterDataPlaneLabels);
        Assert.Equal(NodeRole.ControlPlane, controlPlane.Config!.Role);
        Assert.Equal(["0.0.0.0:8005"], controlPlane.Config.ClusterListen.Select(l => l.ToString()));
    }

    [Fact]
    public void Certificate_may_be_given_inline_or_as_base64_as_Kong_accepts()
    {
        var base64 = Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(files.CertPem));
        var environment = new Dictionary<string, string> { ["GANTRY_CLUSTER_CERT"] = files.CertPem };

        Assert.True(ConfLoader.LoadText(Expand("{dp}"), environment).IsValid);
        Assert.True(ConfLoader.LoadText(Expand("{dp}cluster_cert = " + base64)).IsValid);
    }

    [Fact]
    public void Traditional_node_ignores_the_cluster_properties()
    {
        // The defaults of a traditional node name no certificate; the rules above apply to hybrid roles only.
        Assert.Empty(ErrorsOf("cluster_listen = off\ncluster_mtls = pki"));
    }

    [Theory]
    [InlineData("declarative_config = /etc/gantry/kong.yml", "declarative_config")]
    [InlineData("declarative_config_string = _format_version: '3.0'", "declarative_config_string")]
    public void Declarative_document_on_a_data_plane_is_allowed_as_in_Kong(string setting, string property)
    {
        // Kong serves it at a start without a cached configuration, until the control plane's first one arrives.
        var result = ConfLoader.LoadText(Expand("{dp}" + setting));

        Assert.True(result.IsValid, string.Join(Environment.NewLine, result.Errors));
        Assert.Empty(result.Warnings);
        Assert.True(result.Config!.IsSet(property));
    }
}
