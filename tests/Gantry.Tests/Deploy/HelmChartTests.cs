using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Gantry.Configuration;
using Gantry.Tests.Configuration;
using Gantry.Tests.Support;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Gantry.Tests.Deploy;

/// <summary>
/// The Helm chart (deploy/helm/gantry), rendered without Helm by deploy/helm/render (Go's text/template
/// with sprig, as Helm renders) and read back with YamlDotNet: the migration hooks for each combination
/// of migrations.preUpgrade and migrations.postUpgrade, the Deployment's command, ports, probes and
/// termination, where the configuration and the password go, and that every document is a Kubernetes
/// object. The rendered configuration is also loaded by Gantry's own configuration loader, with the
/// files a pod mounts (the cluster certificate of hybrid roles) standing in from a test folder.
/// </summary>
public sealed partial class HelmChartTests(HelmRenderer renderer, ClusterCertificateFiles clusterFiles)
    : IClassFixture<HelmRenderer>, IClassFixture<ClusterCertificateFiles>
{
    private const string Host = "db.internal";
    private const string Password = "Pa55-only-in-secrets-7q";
    private const string HookDeletePolicy = "before-hook-creation,hook-succeeded";

    private static readonly string[] Required = ["postgres.pg_host=" + Host, "postgres.pg_password=" + Password];

    public static TheoryData<bool?, bool?> MigrationFlags => new()
    {
        { null, null },     // the defaults: both upgrade jobs
        { true, false },    // split release, the first one upgraded: 'up' only
        { false, false },   // split release, those in between: neither
        { false, true },    // split release, the last one upgraded: 'finish' only
    };

    [Theory]
    [MemberData(nameof(MigrationFlags))]
    public void Migration_jobs_follow_the_preUpgrade_and_postUpgrade_flags(bool? preUpgrade, bool? postUpgrade)
    {
        var sets = new List<string>(Required);
        if (preUpgrade is { } pre)
            sets.Add("migrations.preUpgrade=" + (pre ? "true" : "false"));
        if (postUpgrade is { } post)
            sets.Add("migrations.postUpgrade=" + (post ? "true" : "false"));
        var docs = renderer.Render([.. sets]);
        var expectUp = preUpgrade ?? true;
        var expectFinish = postUpgrade ?? true;

        var jobs = docs.Where(d => d.Kind == "Job").ToList();
        Assert.Equal(1 + (expectUp ? 1 : 0) + (expectFinish ? 1 : 0), jobs.Count);

        // The bootstrap runs on every install (harmless on a bootstrapped database), whatever the flags.
        AssertJob(jobs, "pre-install", "bootstrap");
        if (expectUp)
            AssertJob(jobs, "pre-upgrade", "up");
        else
            Assert.DoesNotContain(jobs, j => Hook(j) == "pre-upgrade");
        if (expectFinish)
            AssertJob(jobs, "post-upgrade", "finish");
        else
            Assert.DoesNotContain(jobs, j => Hook(j) == "post-upgrade");
        // 'up' and 'finish' never run in the same hook: finish must wait for the rollout.
        Assert.DoesNotContain(jobs, j => Command(j).Contains("up") && Command(j).Contains("finish"));

        // The hook copies of the ConfigMap and Secret exist at every event a Job runs at, and before it.
        var jobEvents = jobs.Select(Hook).ToHashSet();
        foreach (var kind in new[] { "ConfigMap", "Secret" })
        {
            var copy = Assert.Single(docs, d => d.Kind == kind && d.Json["metadata"]?["annotations"]?["helm.sh/hook"] is not null);
            Assert.Equal(jobEvents.Order(), Hook(copy).Split(',').Order());
            Assert.True(Weight(copy) < jobs.Min(Weight), $"the hook {kind} must be created before the Jobs (lower weight)");
            Assert.Equal(HookDeletePolicy, Annotation(copy, "helm.sh/hook-delete-policy"));
        }
    }

    [Fact]
    public void Default_install_has_the_bootstrap_up_and_finish_jobs_with_re_runnable_hooks()
    {
        var jobs = renderer.Render(Required).Where(d => d.Kind == "Job").ToList();
        Assert.Equal(["bootstrap", "finish", "up"], jobs.Select(j => Command(j)[2]).Order());
        foreach (var job in jobs)
        {
            Assert.Equal(HookDeletePolicy, Annotation(job, "helm.sh/hook-delete-policy"));
            Assert.NotNull(Annotation(job, "helm.sh/hook-weight"));
            Assert.Equal(["gantry", "migrations"], Command(job).Take(2));
            Assert.Contains("--lock-timeout", Command(job));
            var pod = job.Json["spec"]!["template"]!["spec"]!;
            Assert.Equal("Never", pod["restartPolicy"]!.GetValue<string>());
            Assert.Equal("gantry:" + Gantry.GantryInfo.BuildVersion, Container(job)["image"]!.GetValue<string>());
        }
    }

    [Fact]
    public void Bootstrap_can_be_turned_off_and_then_no_hook_runs_at_install()
    {
        var docs = renderer.Render([.. Required, "migrations.bootstrap=false"]);
        Assert.DoesNotContain(docs, d => Hook(d).Split(',').Contains("pre-install"));
        Assert.Equal(2, docs.Count(d => d.Kind == "Job"));
    }

    [Fact]
    public void Deployment_runs_gantry_start_with_its_ports_probes_and_a_graceful_termination()
    {
        var docs = renderer.Render(Required);
        var deployment = Assert.Single(docs, d => d.Kind == "Deployment");
        var container = Container(deployment);
        Assert.Equal(["gantry", "start"], Strings(container["command"]));

        var ports = container["ports"]!.AsArray().ToDictionary(p => p!["name"]!.GetValue<string>(), p => int.Parse(p!["containerPort"]!.GetValue<string>()));
        Assert.Equal(new Dictionary<string, int> { ["proxy"] = 8000, ["proxy-tls"] = 8443, ["admin"] = 8001, ["status"] = 8007 }, ports);

        Assert.Equal("/status/ready", container["readinessProbe"]!["httpGet"]!["path"]!.GetValue<string>());
        Assert.Equal("status", container["readinessProbe"]!["httpGet"]!["port"]!.GetValue<string>());
        Assert.Equal("/status", container["livenessProbe"]!["httpGet"]!["path"]!.GetValue<string>());
        Assert.Equal("status", container["livenessProbe"]!["httpGet"]!["port"]!.GetValue<string>());

        // preStop sleeps while the pod leaves the endpoints, then SIGTERM drains (up to 10 s in Gantry):
        // the grace period must cover both.
        var preStop = Strings(container["lifecycle"]!["preStop"]!["exec"]!["command"]);
        Assert.Equal("sleep", preStop[0]);
        var grace = int.Parse(deployment.Json["spec"]!["template"]!["spec"]!["terminationGracePeriodSeconds"]!.GetValue<string>());
        Assert.True(grace >= int.Parse(preStop[1]) + 10, $"terminationGracePeriodSeconds {grace} must cover the preStop sleep {preStop[1]} s and the 10 s drain");

        // Rolling update that never lowers the number of ready nodes.
        Assert.Equal("0", deployment.Json["spec"]!["strategy"]!["rollingUpdate"]!["maxUnavailable"]!.GetValue<string>());

        // The listeners the configuration opens are the container's ports, on every interface (the
        // kubelet probes the pod address, not loopback).
        var config = LoadConfig(docs, deployment);
        Assert.Equal([8000, 8443], config.ProxyListen.Select(l => l.Port));
        Assert.True(config.ProxyListen.Single(l => l.Port == 8443).Ssl);
        Assert.Equal([8001], config.AdminListen.Select(l => l.Port));
        Assert.Equal([8007], config.StatusListen.Select(l => l.Port));
        Assert.All(config.ProxyListen.Concat(config.AdminListen).Concat(config.StatusListen), l => Assert.True(l.IsAnyAddress, l.ToString()));
    }

    [Fact]
    public void Services_reach_the_nodes_ports_and_never_the_migration_pods()
    {
        var docs = renderer.Render(Required);
        var deployment = docs.Single(d => d.Kind == "Deployment");
        var podLabels = Labels(deployment.Json["spec"]!["template"]!["metadata"]!["labels"]);
        var containerPorts = Container(deployment)["ports"]!.AsArray().Select(p => p!["name"]!.GetValue<string>()).ToHashSet();
        var services = docs.Where(d => d.Kind == "Service").ToList();
        Assert.Equal(["gantry-admin", "gantry-proxy", "gantry-status"], services.Select(s => s.Name).Order());
        foreach (var service in services)
        {
            var selector = Labels(service.Json["spec"]!["selector"]);
            Assert.All(selector, pair => Assert.Equal(pair.Value, podLabels.GetValueOrDefault(pair.Key)));
            foreach (var job in docs.Where(d => d.Kind == "Job"))
            {
                var jobLabels = Labels(job.Json["spec"]!["template"]!["metadata"]!["labels"]);
                Assert.False(selector.All(pair => jobLabels.GetValueOrDefault(pair.Key) == pair.Value), $"{service.Name} would send traffic to {job.Name}'s pods");
            }
            foreach (var port in service.Json["spec"]!["ports"]!.AsArray())
                Assert.Contains(port!["targetPort"]!.GetValue<string>(), containerPorts);
        }
        Assert.Equal("LoadBalancer", services.Single(s => s.Name == "gantry-proxy").Json["spec"]!["type"]!.GetValue<string>());
        Assert.Equal("ClusterIP", services.Single(s => s.Name == "gantry-admin").Json["spec"]!["type"]!.GetValue<string>());
    }

    [Fact]
    public void Nodes_and_jobs_read_the_configuration_from_a_configmap_and_the_password_from_a_secret()
    {
        var docs = renderer.Render([.. Required, "postgres.pg_port=6432", "postgres.pg_ssl=true", "config.log_level=debug"]);
        foreach (var workload in docs.Where(d => d.Kind is "Deployment" or "Job"))
        {
            var config = LoadConfig(docs, workload);
            Assert.Equal(DatabaseKind.Postgres, config.Database);
            Assert.Equal(Host, config.Postgres.Host);
            Assert.Equal(6432, config.Postgres.Port);
            Assert.Equal(Password, config.Postgres.Password);
            Assert.True(config.Postgres.Ssl);
            Assert.Equal("debug", config.Get("log_level"));
            Assert.Equal("/usr/local/gantry", config.Get("prefix"));
            // The prefix is a writable volume: the root file system is read-only.
            Assert.Contains(Container(workload)["volumeMounts"]!.AsArray(), m => m!["mountPath"]!.GetValue<string>() == "/usr/local/gantry");
        }

        // Every variable of the ConfigMap names a property Gantry knows (it ignores other GANTRY_* names),
        // and every value is quoted, so that Kubernetes' YAML 1.1 reader keeps "on", "off" and numbers
        // as the strings a ConfigMap holds.
        foreach (var configMap in docs.Where(d => d.Kind == "ConfigMap"))
        {
            var data = (YamlMappingNode)configMap.Yaml.Children[new YamlScalarNode("data")];
            foreach (var (key, value) in data.Children)
            {
                var name = ((YamlScalarNode)key).Value!;
                Assert.StartsWith("GANTRY_", name);
                Assert.NotNull(ConfProperties.Find(name["GANTRY_".Length..].ToLowerInvariant()));
                Assert.Equal(ScalarStyle.DoubleQuoted, ((YamlScalarNode)value).Style);
            }
        }
    }

    [Fact]
    public void The_password_is_only_in_secrets()
    {
        var docs = renderer.Render(Required);
        var encoded = Convert.ToBase64String(Encoding.UTF8.GetBytes(Password));
        foreach (var doc in docs.Where(d => d.Kind != "Secret"))
        {
            Assert.DoesNotContain(Password, doc.Text);
            Assert.DoesNotContain(encoded, doc.Text);
        }
        var secrets = docs.Where(d => d.Kind == "Secret").ToList();
        Assert.Equal(["gantry-migrations", "gantry-postgres"], secrets.Select(s => s.Name).Order());
        Assert.All(secrets, s => Assert.Equal(encoded, s.Json["data"]!["pg_password"]!.GetValue<string>()));

        // A password given in config (which becomes the ConfigMap) is refused.
        var refused = renderer.Run([.. Required, "config.pg_password=oops"]);
        Assert.NotEqual(0, refused.ExitCode);
        Assert.Contains("config.pg_password: a password does not belong in the ConfigMap", refused.Stderr);
    }

    [Fact]
    public void An_existing_secret_replaces_the_charts_own()
    {
        var docs = renderer.Render(["postgres.pg_host=" + Host, "postgres.existingSecret=db-credentials", "postgres.existingSecretKey=password"]);
        Assert.DoesNotContain(docs, d => d.Kind == "Secret");
        foreach (var workload in docs.Where(d => d.Kind is "Deployment" or "Job"))
        {
            var reference = Container(workload)["env"]!.AsArray().Single(e => e!["name"]!.GetValue<string>() == "GANTRY_PG_PASSWORD")!["valueFrom"]!["secretKeyRef"]!;
            Assert.Equal("db-credentials", reference["name"]!.GetValue<string>());
            Assert.Equal("password", reference["key"]!.GetValue<string>());
        }
    }

    [Fact]
    public void Without_pg_host_the_render_fails_naming_it()
    {
        var result = renderer.Run([]);
        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("postgres.pg_host is required", result.Stderr);
    }

    [Theory]
    [MemberData(nameof(MigrationFlags))]
    public void Every_document_is_a_named_kubernetes_object(bool? preUpgrade, bool? postUpgrade)
    {
        var sets = new List<string>(Required) { "proxy.tlsPort=0", "admin.port=0" };
        if (preUpgrade is { } pre)
            sets.Add("migrations.preUpgrade=" + (pre ? "true" : "false"));
        if (postUpgrade is { } post)
            sets.Add("migrations.postUpgrade=" + (post ? "true" : "false"));
        foreach (var variant in new[] { Required, sets.ToArray() })
        {
            var docs = renderer.Render(variant);
            Assert.NotEmpty(docs);
            foreach (var doc in docs)
            {
                Assert.Matches("^(v1|apps/v1|batch/v1)$", doc.Json["apiVersion"]?.GetValue<string>() ?? "");
                Assert.False(string.IsNullOrEmpty(doc.Kind), doc.Text);
                Assert.Matches("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", doc.Name);
                Assert.True(doc.Name.Length <= 63, doc.Name);
            }
            Assert.Equal(docs.Count, docs.Select(d => (d.Kind, d.Name)).Distinct().Count());
        }
    }

    [Fact]
    public void Proxy_only_nodes_close_the_admin_api_and_its_service()
    {
        var docs = renderer.Render([.. Required, "admin.port=0"]);
        var deployment = docs.Single(d => d.Kind == "Deployment");
        Assert.Empty(LoadConfig(docs, deployment).AdminListen);
        Assert.DoesNotContain(docs, d => d.Name == "gantry-admin");
        Assert.DoesNotContain(Container(deployment)["ports"]!.AsArray(), p => p!["name"]!.GetValue<string>() == "admin");
    }

    [Fact]
    public void The_charts_appVersion_is_the_release_and_the_default_image_tag()
    {
        var props = File.ReadAllText(RepositoryFiles.PathOf("Directory.Build.props"));
        var release = GantryVersionRegex().Match(props).Groups[1].Value;
        var chart = File.ReadAllText(RepositoryFiles.PathOf("deploy/helm/gantry/Chart.yaml"));
        Assert.Contains($"appVersion: \"{release}\"", chart);
        var deployment = renderer.Render(Required).Single(d => d.Kind == "Deployment");
        Assert.Equal($"gantry:{release}", Container(deployment)["image"]!.GetValue<string>());
        var tagged = renderer.Render([.. Required, "image.repository=registry.example/gantry", "image.tag=9.9.9"]).Single(d => d.Kind == "Deployment");
        Assert.Equal("registry.example/gantry:9.9.9", Container(tagged)["image"]!.GetValue<string>());
    }

    // --- hybrid mode: a control plane release and data plane releases ---

    private const string ClusterSecret = "gantry-cluster";
    private const string ControlPlaneAddress = "cp-gantry-cluster.gateway.svc:8005";

    private static readonly string[] ControlPlane = [.. Required, "role=control_plane", "cluster.secretName=" + ClusterSecret];

    // A data plane release names no database at all, not even a password.
    private static readonly string[] DataPlane = ["role=data_plane", "cluster.secretName=" + ClusterSecret, "cluster.controlPlane=" + ControlPlaneAddress];

    [Fact]
    public void Control_plane_release_has_the_database_the_admin_api_the_cluster_listener_and_the_migrations()
    {
        var docs = renderer.Render(ControlPlane);
        var deployment = docs.Single(d => d.Kind == "Deployment");

        var config = LoadConfig(docs, deployment);
        Assert.Equal(NodeRole.ControlPlane, config.Role);
        Assert.Equal(DatabaseKind.Postgres, config.Database);
        Assert.Equal([8005], config.ClusterListen.Select(l => l.Port));
        Assert.Equal([8001], config.AdminListen.Select(l => l.Port));
        // A control plane proxies nothing: no proxy listener, port or Service.
        Assert.Empty(config.ProxyListen);
        var ports = Container(deployment)["ports"]!.AsArray().Select(p => p!["name"]!.GetValue<string>()).ToList();
        Assert.Equal(["admin", "cluster", "status"], ports.Order());

        var services = docs.Where(d => d.Kind == "Service").ToList();
        Assert.Equal(["gantry-admin", "gantry-cluster", "gantry-status"], services.Select(s => s.Name).Order());
        var cluster = services.Single(s => s.Name == "gantry-cluster");
        Assert.Equal("ClusterIP", cluster.Json["spec"]!["type"]!.GetValue<string>());
        var clusterPort = Assert.Single(cluster.Json["spec"]!["ports"]!.AsArray())!;
        Assert.Equal("8005", clusterPort["port"]!.GetValue<string>());
        Assert.Equal("cluster", clusterPort["targetPort"]!.GetValue<string>());

        // The migration Jobs run as on a traditional release, and load the same configuration, certificate included.
        var jobs = docs.Where(d => d.Kind == "Job").ToList();
        Assert.Equal(["bootstrap", "finish", "up"], jobs.Select(j => Command(j)[2]).Order());
        foreach (var job in jobs)
            Assert.Equal(NodeRole.ControlPlane, LoadConfig(docs, job).Role);
    }

    [Fact]
    public void Data_plane_release_proxies_without_a_database_migrations_or_admin_service()
    {
        var docs = renderer.Render([.. DataPlane, "postgres.pg_password=" + Password]);
        var deployment = docs.Single(d => d.Kind == "Deployment");

        var config = LoadConfig(docs, deployment);
        Assert.Equal(NodeRole.DataPlane, config.Role);
        Assert.Equal(DatabaseKind.Off, config.Database);
        Assert.Equal(ControlPlaneAddress, config.ClusterControlPlane);
        Assert.Equal([8000, 8443], config.ProxyListen.Select(l => l.Port));
        var configMap = docs.Single(d => d.Kind == "ConfigMap");
        Assert.DoesNotContain(configMap.Json["data"]!.AsObject(), p => p.Key.StartsWith("GANTRY_PG_", StringComparison.Ordinal));

        Assert.DoesNotContain(docs, d => d.Kind is "Job" or "Secret");
        Assert.DoesNotContain(docs, d => Hook(d) != "");
        Assert.Null(Container(deployment)["env"]);
        Assert.Equal(["gantry-proxy", "gantry-status"], docs.Where(d => d.Kind == "Service").Select(s => s.Name).Order());
        Assert.DoesNotContain(Container(deployment)["ports"]!.AsArray(), p => p!["name"]!.GetValue<string>() == "cluster");

        // The read-only Admin API keeps its port for port-forwarding; a Service only when asked for.
        var withAdmin = renderer.Render([.. DataPlane, "cluster.dataPlaneAdminService=true"]);
        Assert.Contains(withAdmin, d => d.Kind == "Service" && d.Name == "gantry-admin");
    }

    [Theory]
    [InlineData("control_plane")]
    [InlineData("data_plane")]
    public void Cluster_certificate_comes_from_the_secret_as_read_only_files(string role)
    {
        var docs = renderer.Render(role == "data_plane" ? DataPlane : ControlPlane);
        foreach (var workload in docs.Where(d => d.Kind is "Deployment" or "Job"))
        {
            var volume = workload.Json["spec"]!["template"]!["spec"]!["volumes"]!.AsArray().Single(v => v!["name"]!.GetValue<string>() == "cluster")!["secret"]!;
            Assert.Equal(ClusterSecret, volume["secretName"]!.GetValue<string>());
            Assert.Equal("288", volume["defaultMode"]!.GetValue<string>()); // 0440
            var items = volume["items"]!.AsArray().ToDictionary(i => i!["key"]!.GetValue<string>(), i => i!["path"]!.GetValue<string>());
            Assert.Equal(new Dictionary<string, string> { ["tls.crt"] = "cluster.crt", ["tls.key"] = "cluster.key" }, items);
            var mount = Container(workload)["volumeMounts"]!.AsArray().Single(m => m!["name"]!.GetValue<string>() == "cluster")!;
            Assert.Equal("true", mount["readOnly"]!.GetValue<string>());
            var config = LoadConfig(docs, workload);
            Assert.Equal(Path.Combine(clusterFiles.Directory, "cluster.crt"), config.Get("cluster_cert"));
            Assert.Equal(Path.Combine(clusterFiles.Directory, "cluster.key"), config.Get("cluster_cert_key"));
        }
        // The certificate is not configuration: it is in no ConfigMap, as a path is all they hold.
        Assert.All(docs.Where(d => d.Kind == "ConfigMap"), d => Assert.DoesNotContain("BEGIN", d.Text));
    }

    [Fact]
    public void Pki_mode_mounts_the_ca_from_the_same_secret()
    {
        var docs = renderer.Render([.. DataPlane, "cluster.mtls=pki_check_cn", "cluster.caKey=ca.crt"]);
        var deployment = docs.Single(d => d.Kind == "Deployment");
        var config = LoadConfig(docs, deployment);
        Assert.Equal("pki_check_cn", config.Get("cluster_mtls"));
        Assert.Equal(Path.Combine(clusterFiles.Directory, "ca.crt"), config.Get("cluster_ca_cert"));
    }

    [Fact]
    public void Traditional_release_has_no_cluster_certificate_or_listener()
    {
        var docs = renderer.Render(Required);
        var deployment = docs.Single(d => d.Kind == "Deployment");
        Assert.Equal(NodeRole.Traditional, LoadConfig(docs, deployment).Role);
        Assert.DoesNotContain(deployment.Json["spec"]!["template"]!["spec"]!["volumes"]!.AsArray(), v => v!["name"]!.GetValue<string>() == "cluster");
        Assert.DoesNotContain(docs, d => d.Name == "gantry-cluster");
    }

    [Theory]
    [InlineData("cluster.secretName is required when role is control_plane", "role=control_plane", "postgres.pg_host=db.internal")]
    [InlineData("cluster.secretName is required when role is data_plane", "role=data_plane", "cluster.controlPlane=cp:8005")]
    [InlineData("cluster.controlPlane is required when role is data_plane", "role=data_plane", "cluster.secretName=s")]
    [InlineData("cluster.caKey is required when cluster.mtls is pki", "role=data_plane", "cluster.secretName=s", "cluster.controlPlane=cp:8005", "cluster.mtls=pki")]
    [InlineData("postgres.pg_host is required", "role=control_plane", "cluster.secretName=s")]
    [InlineData("role: expected traditional, control_plane or data_plane, got \"edge\"", "role=edge")]
    [InlineData("config.role: the chart sets this property itself", "postgres.pg_host=db.internal", "config.role=data_plane")]
    [InlineData("config.cluster_control_plane: the chart sets this property itself", "postgres.pg_host=db.internal", "config.cluster_control_plane=cp:8005")]
    public void Wrong_hybrid_values_fail_the_render_naming_them(string expected, params string[] sets)
    {
        var result = renderer.Run(sets);

        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains(expected, result.Stderr);
    }

    [Fact]
    public void Hybrid_releases_are_named_kubernetes_objects_that_do_not_collide_in_one_namespace()
    {
        var controlPlane = renderer.Render([.. ControlPlane, "fullnameOverride=cp"]);
        var dataPlane = renderer.Render([.. DataPlane, "fullnameOverride=edge"]);
        foreach (var doc in controlPlane.Concat(dataPlane))
        {
            Assert.Matches("^(v1|apps/v1|batch/v1)$", doc.Json["apiVersion"]?.GetValue<string>() ?? "");
            Assert.Matches("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", doc.Name);
        }
        var names = controlPlane.Concat(dataPlane).Select(d => (d.Kind, d.Name)).ToList();
        Assert.Equal(names.Count, names.Distinct().Count());
    }

    // --- helpers ---

    private static void AssertJob(List<RenderedDocument> jobs, string hook, string subcommand)
    {
        var job = Assert.Single(jobs, j => Hook(j) == hook);
        Assert.Equal(["gantry", "migrations", subcommand], Command(job).Take(3));
        Assert.Equal(HookDeletePolicy, Annotation(job, "helm.sh/hook-delete-policy"));
    }

    private static string Hook(RenderedDocument doc) => Annotation(doc, "helm.sh/hook") ?? "";

    private static int Weight(RenderedDocument doc) => int.Parse(Annotation(doc, "helm.sh/hook-weight") ?? "0");

    private static string? Annotation(RenderedDocument doc, string name) =>
        doc.Json["metadata"]?["annotations"]?[name]?.GetValue<string>();

    private static JsonNode Container(RenderedDocument workload) =>
        Assert.Single(workload.Json["spec"]!["template"]!["spec"]!["containers"]!.AsArray())!;

    private static List<string> Command(RenderedDocument workload) => Strings(Container(workload)["command"]);

    private static List<string> Strings(JsonNode? array) => array!.AsArray().Select(n => n!.GetValue<string>()).ToList();

    private static Dictionary<string, string> Labels(JsonNode? labels) =>
        labels!.AsObject().ToDictionary(p => p.Key, p => p.Value!.GetValue<string>());

    /// <summary>
    /// The configuration a workload's container would load: the ConfigMap it reads as GANTRY_* variables,
    /// and the password from the Secret it names, through Gantry's own loader (errors fail the test).
    /// </summary>
    private GantryConfig LoadConfig(IReadOnlyList<RenderedDocument> docs, RenderedDocument workload)
    {
        var container = Container(workload);
        var configMapName = Assert.Single(container["envFrom"]!.AsArray())!["configMapRef"]!["name"]!.GetValue<string>();
        var configMap = Assert.Single(docs, d => d.Kind == "ConfigMap" && d.Name == configMapName);
        var environment = configMap.Json["data"]!.AsObject().ToDictionary(p => p.Key, p => p.Value!.GetValue<string>());
        foreach (var variable in container["env"]?.AsArray() ?? [])
        {
            var reference = variable!["valueFrom"]!["secretKeyRef"]!;
            var secret = Assert.Single(docs, d => d.Kind == "Secret" && d.Name == reference["name"]!.GetValue<string>());
            var encoded = secret.Json["data"]![reference["key"]!.GetValue<string>()]!.GetValue<string>();
            environment[variable["name"]!.GetValue<string>()] = Encoding.UTF8.GetString(Convert.FromBase64String(encoded));
        }
        MountClusterFiles(workload, environment);
        var result = ConfLoader.LoadText("", environment);
        Assert.True(result.IsValid, string.Join("\n", result.Errors.Select(e => e.ToString())));
        return result.Config!;
    }

    /// <summary>
    /// A path under the mount of the cluster Secret must be one of the files the volume projects; it is
    /// pointed at the same file of the test folder, where the loader can read it.
    /// </summary>
    private void MountClusterFiles(RenderedDocument workload, Dictionary<string, string> environment)
    {
        var mount = Container(workload)["volumeMounts"]!.AsArray().SingleOrDefault(m => m!["name"]!.GetValue<string>() == "cluster");
        if (mount is null)
            return;
        var mountPath = mount["mountPath"]!.GetValue<string>() + "/";
        var volume = workload.Json["spec"]!["template"]!["spec"]!["volumes"]!.AsArray().Single(v => v!["name"]!.GetValue<string>() == "cluster")!;
        var projected = volume["secret"]!["items"]!.AsArray().Select(i => i!["path"]!.GetValue<string>()).ToHashSet();
        foreach (var (name, value) in environment.Where(e => e.Value.StartsWith(mountPath, StringComparison.Ordinal)).ToList())
        {
            var file = value[mountPath.Length..];
            Assert.True(projected.Contains(file), $"{name} names {value}, which the cluster volume does not project ({string.Join(", ", projected)})");
            environment[name] = Path.Combine(clusterFiles.Directory, file);
        }
    }

    [GeneratedRegex("<GantryVersion>([^<]+)</GantryVersion>")]
    private static partial Regex GantryVersionRegex();
}

/// <summary>One rendered manifest: its text, its YAML tree (for scalar styles) and the same as JSON (to read).</summary>
public sealed record RenderedDocument(string Source, string Text, YamlMappingNode Yaml, JsonObject Json)
{
    public string Kind => Json["kind"]?.GetValue<string>() ?? "";

    public string Name => Json["metadata"]?["name"]?.GetValue<string>() ?? "";
}

/// <summary>
/// Builds deploy/helm/render once (Go in GOPATH mode, offline, with Debian's sprig and yaml.v3) and
/// runs it on the chart. Without Go the tests fail, saying what to install: bin/test installs it.
/// </summary>
public sealed class HelmRenderer
{
    private static readonly string ChartDir = RepositoryFiles.PathOf("deploy/helm/gantry");
    private readonly string _binary;

    public HelmRenderer()
    {
        var workDir = RepositoryFiles.PathOf(".build/helm-render");
        Directory.CreateDirectory(workDir);
        _binary = Path.Combine(workDir, "render");
        var build = Exec("go", ["build", "-o", _binary, "./deploy/helm/render"], RepositoryFiles.Root, new Dictionary<string, string>
        {
            ["GO111MODULE"] = "off",
            ["GOPATH"] = "/usr/share/gocode",
            ["GOFLAGS"] = "",
            ["GOPROXY"] = "off",
            ["GOCACHE"] = Path.Combine(workDir, "go-cache"),
        }, missing: "the chart tests need Go with sprig and yaml.v3: apt-get install golang-go golang-github-masterminds-sprig-dev golang-gopkg-yaml.v3-dev (bin/test installs them)");
        if (build.ExitCode != 0)
            throw new InvalidOperationException($"building deploy/helm/render failed (exit {build.ExitCode}); are golang-github-masterminds-sprig-dev and golang-gopkg-yaml.v3-dev installed?\n{build.Stderr}");
    }

    /// <summary>Runs the renderer in strict mode (a template reading a value that values.yaml lacks fails).</summary>
    public CliResult Run(string[] sets)
    {
        var arguments = new List<string> { ChartDir, "--strict", "--release-name", "gantry" };
        foreach (var set in sets)
        {
            arguments.Add("--set");
            arguments.Add(set);
        }
        return Exec(_binary, arguments, RepositoryFiles.Root, new Dictionary<string, string>(), missing: "the renderer binary is missing");
    }

    public IReadOnlyList<RenderedDocument> Render(string[] sets)
    {
        var result = Run(sets);
        if (result.ExitCode != 0)
            throw new InvalidOperationException($"rendering the chart with --set {string.Join(" --set ", sets)} failed:\n{result}");
        var documents = new List<RenderedDocument>();
        foreach (var text in Regex.Split(result.Stdout, "^---\n", RegexOptions.Multiline).Where(t => t.Trim().Length > 0))
        {
            var source = Regex.Match(text, "^# Source: (.+)$", RegexOptions.Multiline).Groups[1].Value;
            var stream = new YamlStream();
            try
            {
                stream.Load(new StringReader(text));
            }
            catch (YamlException e)
            {
                throw new InvalidOperationException($"{source} is not valid YAML: {e.Message}\n{text}", e);
            }
            var document = Assert.Single(stream.Documents);
            var root = Assert.IsType<YamlMappingNode>(document.RootNode);
            documents.Add(new RenderedDocument(source, text, root, (JsonObject)ToJson(root)!));
        }
        return documents;
    }

    /// <summary>Scalars stay strings: the tests compare them as text ("8000"), as a ConfigMap holds them.</summary>
    private static JsonNode? ToJson(YamlNode node) => node switch
    {
        YamlMappingNode map => new JsonObject(map.Children.Select(p => KeyValuePair.Create(((YamlScalarNode)p.Key).Value!, ToJson(p.Value)))),
        YamlSequenceNode sequence => new JsonArray(sequence.Children.Select(ToJson).ToArray()),
        YamlScalarNode { Style: ScalarStyle.Plain, Value: "null" or "~" or "" } => null,
        YamlScalarNode scalar => JsonValue.Create(scalar.Value),
        _ => throw new InvalidOperationException("unexpected YAML node " + node.NodeType),
    };

    private static CliResult Exec(string program, IEnumerable<string> arguments, string workingDirectory, Dictionary<string, string> environment, string missing)
    {
        var start = new ProcessStartInfo(program)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
            start.ArgumentList.Add(argument);
        foreach (var (name, value) in environment)
            start.Environment[name] = value;
        Process process;
        try
        {
            process = Process.Start(start)!;
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new InvalidOperationException($"cannot run {program} ({e.Message}): {missing}", e);
        }
        using (process)
        {
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            if (!process.WaitForExit(TimeSpan.FromMinutes(3)))
            {
                process.Kill(entireProcessTree: true);
                throw new TimeoutException($"{program} {string.Join(' ', arguments)} did not finish in 3 minutes");
            }
            return new CliResult(process.ExitCode, stdout.Result, stderr.Result);
        }
    }
}
