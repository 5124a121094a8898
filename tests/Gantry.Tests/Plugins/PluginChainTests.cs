using Gantry.Plugins;
using Gantry.Plugins.Pipeline;
using Gantry.Routing;

namespace Gantry.Tests.Plugins;

/// <summary>Kong's scope precedence and priority order, resolved when the snapshot is built.</summary>
public sealed class PluginChainTests
{
    private static readonly Guid Route = Guid.NewGuid();
    private static readonly Guid Service = Guid.NewGuid();
    private static readonly Guid Consumer = Guid.NewGuid();
    private static readonly Guid OtherRoute = Guid.NewGuid();
    private static readonly Guid OtherService = Guid.NewGuid();
    private static readonly Guid OtherConsumer = Guid.NewGuid();

    private sealed class Named(string scope) : PluginHandler
    {
        public string Scope { get; } = scope;
    }

    private static readonly PluginDescriptor Limit = new("limit", Bundled: false, Migrations: null) { Priority = 10 };
    private static readonly PluginDescriptor Auth = new("auth", Bundled: false, Migrations: null) { Priority = 1000 };
    private static readonly PluginDescriptor Tag = new("tag", Bundled: false, Migrations: null) { Priority = 1000 };

    // Kong's order, most specific first.
    private static readonly (string Scope, Guid? Route, Guid? Service, Guid? Consumer)[] Levels =
    [
        ("route+service+consumer", Route, Service, Consumer),
        ("route+consumer", Route, null, Consumer),
        ("service+consumer", null, Service, Consumer),
        ("route+service", Route, Service, null),
        ("consumer", null, null, Consumer),
        ("route", Route, null, null),
        ("service", null, Service, null),
        ("global", null, null, null),
    ];

    private static ScopedInstance Instance(PluginDescriptor plugin, string scope, Guid? route, Guid? service, Guid? consumer) =>
        new(plugin, new PluginInstance(Guid.NewGuid(), plugin.Name, new Named(scope), http: true, https: true), route, service, consumer);

    private static PluginChain? ChainOf(params ScopedInstance[] instances) =>
        PluginChains.Build([new RouteDefinition { Id = Route, ServiceId = Service, Paths = ["/"] }], instances).For(Route);

    private static string? Winner(PluginChain? chain, Guid? consumer) => (chain?.Slots.Single().Resolve(consumer)?.Handler as Named)?.Scope;

    [Fact]
    public void Each_level_beats_every_level_below_it()
    {
        for (var top = 0; top < Levels.Length; top++)
        {
            var chain = ChainOf([.. Levels.Skip(top).Select(l => Instance(Limit, l.Scope, l.Route, l.Service, l.Consumer))]);
            var withConsumer = Winner(chain, Consumer);
            Assert.Equal(Levels[top].Scope, withConsumer);
            // Without the consumer, the first level that names none wins.
            var expected = Levels.Skip(top).FirstOrDefault(l => l.Consumer is null).Scope;
            Assert.Equal(expected, Winner(chain, null));
            // Another consumer is treated as no consumer.
            Assert.Equal(expected, Winner(chain, OtherConsumer));
        }
    }

    [Fact]
    public void Instances_on_another_route_service_or_consumer_do_not_apply()
    {
        var chain = ChainOf(
            Instance(Limit, "other route", OtherRoute, null, null),
            Instance(Limit, "other service", null, OtherService, null),
            Instance(Limit, "other route, consumer", OtherRoute, null, Consumer),
            Instance(Limit, "route, other service, consumer", Route, OtherService, Consumer),
            Instance(Limit, "other consumer", null, null, OtherConsumer));
        Assert.Null(Winner(chain, Consumer));
        Assert.Null(Winner(chain, null));
        Assert.Equal("other consumer", Winner(chain, OtherConsumer));
    }

    [Fact]
    public void A_route_without_any_applicable_instance_has_no_chain()
    {
        Assert.Null(ChainOf(Instance(Limit, "other route", OtherRoute, null, null)));
        Assert.Null(PluginChains.Build([new RouteDefinition { Id = Route, Paths = ["/"] }], []).For(Route));
    }

    [Fact]
    public void Plugins_run_by_descending_priority_then_name()
    {
        var chain = ChainOf(
            Instance(Limit, "limit", null, null, null),
            Instance(Tag, "tag", null, null, null),
            Instance(Auth, "auth", null, null, null));
        Assert.Equal(["auth", "tag", "limit"], chain!.Slots.Select(s => ((Named)s.Resolve(null)!.Handler).Scope));
    }
}
