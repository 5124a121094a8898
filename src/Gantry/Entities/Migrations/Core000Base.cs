using Gantry.Migrations;
using static Gantry.Migrations.ColumnType;

namespace Gantry.Entities.Migrations;

/// <summary>
/// The first core migration: every table a node needs, with Kong's columns, uniqueness and delete rules.
/// Defaults of entity fields are applied by the DAOs (so that both databases and the Admin API agree);
/// the database only enforces identity, uniqueness and references.
/// </summary>
internal static class Core000Base
{
    public static Migration Migration { get; } = new("000_base", new MigrationStep(Operations()));

    private static MigrationOperation[] Operations()
    {
        var tables = new[]
        {
            new TableDefinition("parameters")
                .PrimaryKey("key", Text)
                .Column("value", Text, notNull: true)
                .Column("created_at", BigInt),

            new TableDefinition("certificates")
                .EntityColumns()
                .Column("cert", Text, notNull: true)
                .Column("key", Text, notNull: true)
                .Column("cert_alt", Text)
                .Column("key_alt", Text)
                .Column("tags", TextArray),

            new TableDefinition("ca_certificates")
                .EntityColumns()
                .Column("cert", Text, notNull: true)
                .Column("cert_digest", Text, notNull: true, unique: true)
                .Column("tags", TextArray),

            new TableDefinition("snis")
                .EntityColumns()
                .Column("name", Text, notNull: true, unique: true)
                .ForeignKey("certificate_id", "certificates", OnDelete.Cascade, notNull: true)
                .Column("tags", TextArray),

            new TableDefinition("services")
                .EntityColumns()
                .Column("name", Text, unique: true)
                .Column("retries", BigInt)
                .Column("protocol", Text)
                .Column("host", Text)
                .Column("port", BigInt)
                .Column("path", Text)
                .Column("connect_timeout", BigInt)
                .Column("write_timeout", BigInt)
                .Column("read_timeout", BigInt)
                .Column("tags", TextArray)
                .ForeignKey("client_certificate_id", "certificates", OnDelete.NoAction)
                .Column("tls_verify", Bool)
                .Column("tls_verify_depth", BigInt)
                .Column("ca_certificates", Json)
                .Column("enabled", Bool, notNull: true, defaultValue: true),

            new TableDefinition("routes")
                .EntityColumns()
                .Column("name", Text, unique: true)
                .ForeignKey("service_id", "services", OnDelete.NoAction)
                .Column("protocols", TextArray)
                .Column("methods", TextArray)
                .Column("hosts", TextArray)
                .Column("paths", TextArray)
                .Column("snis", TextArray)
                .Column("sources", Json)
                .Column("destinations", Json)
                .Column("headers", Json)
                .Column("regex_priority", BigInt)
                .Column("strip_path", Bool)
                .Column("preserve_host", Bool)
                .Column("https_redirect_status_code", BigInt)
                .Column("path_handling", Text)
                .Column("request_buffering", Bool)
                .Column("response_buffering", Bool)
                .Column("tags", TextArray),

            new TableDefinition("consumers")
                .EntityColumns()
                .Column("username", Text, unique: true)
                .Column("custom_id", Text, unique: true)
                .Column("tags", TextArray),

            new TableDefinition("plugins")
                .EntityColumns()
                .Column("name", Text, notNull: true)
                .Column("instance_name", Text, unique: true)
                .ForeignKey("consumer_id", "consumers", OnDelete.Cascade)
                .ForeignKey("service_id", "services", OnDelete.Cascade)
                .ForeignKey("route_id", "routes", OnDelete.Cascade)
                .Column("config", Json, notNull: true)
                .Column("enabled", Bool, notNull: true, defaultValue: true)
                // name, route, service and consumer in one key: one instance of a plugin per scope.
                .Column("cache_key", Text, unique: true)
                .Column("protocols", TextArray)
                .Column("ordering", Json)
                .Column("tags", TextArray),

            new TableDefinition("upstreams")
                .EntityColumns()
                .Column("name", Text, notNull: true, unique: true)
                .Column("algorithm", Text)
                .Column("hash_on", Text)
                .Column("hash_fallback", Text)
                .Column("hash_on_header", Text)
                .Column("hash_fallback_header", Text)
                .Column("hash_on_cookie", Text)
                .Column("hash_on_cookie_path", Text)
                .Column("hash_on_query_arg", Text)
                .Column("hash_fallback_query_arg", Text)
                .Column("hash_on_uri_capture", Text)
                .Column("hash_fallback_uri_capture", Text)
                .Column("slots", BigInt)
                .Column("healthchecks", Json)
                .Column("host_header", Text)
                .ForeignKey("client_certificate_id", "certificates", OnDelete.NoAction)
                .Column("use_srv_name", Bool)
                .Column("tags", TextArray),

            new TableDefinition("targets")
                .PrimaryKey("id")
                // Targets carry millisecond timestamps, as Kong's do.
                .Column("created_at", Float, notNull: true)
                .Column("updated_at", Float, notNull: true)
                .ForeignKey("upstream_id", "upstreams", OnDelete.Cascade, notNull: true)
                .Column("target", Text, notNull: true)
                .Column("weight", BigInt, notNull: true)
                .Column("tags", TextArray),

            new TableDefinition("key_sets")
                .EntityColumns()
                .Column("name", Text, unique: true)
                .Column("tags", TextArray),

            new TableDefinition("keys")
                .EntityColumns()
                .ForeignKey("set_id", "key_sets", OnDelete.Cascade)
                .Column("name", Text, unique: true)
                .Column("kid", Text, notNull: true)
                .Column("jwk", Text)
                .Column("pem", Json)
                .Column("tags", TextArray),

            new TableDefinition("vaults")
                .EntityColumns()
                .Column("name", Text, notNull: true)
                .Column("prefix", Text, notNull: true, unique: true)
                .Column("description", Text)
                .Column("config", Json)
                .Column("tags", TextArray),

            // One row per (entity, tag), kept by the DAOs in the entity's own transaction, so /tags
            // answers from an index on both databases.
            new TableDefinition("tags")
                .PrimaryKey("entity_id")
                .PrimaryKey("tag", Text)
                .Column("entity_name", Text, notNull: true),

            // Every write appends an event here; the nodes sharing the database poll it.
            new TableDefinition("cluster_events")
                .PrimaryKey("id")
                .Column("node_id", Uuid, notNull: true)
                .Column("at", Float, notNull: true)
                .Column("nbf", Float)
                .Column("expire_at", Float, notNull: true)
                .Column("channel", Text)
                .Column("data", Text),

            // Data planes known to a control plane in hybrid mode.
            new TableDefinition("clustering_data_planes")
                .PrimaryKey("id")
                .Column("hostname", Text, notNull: true)
                .Column("ip", Text, notNull: true)
                .Column("last_seen", BigInt)
                .Column("config_hash", Text, notNull: true)
                .Column("version", Text)
                .Column("sync_status", Text, notNull: true, defaultValue: "unknown")
                .Column("labels", Json)
                .Column("cert_details", Json)
                .Column("expire_at", BigInt)
                .Column("updated_at", BigInt),
        };

        var operations = new List<MigrationOperation>();
        operations.AddRange(tables.Select(t => new CreateTableOperation(t)));
        operations.Add(new CreateIndexOperation("routes", "routes_service_id_idx", "service_id"));
        operations.Add(new CreateIndexOperation("plugins", "plugins_route_id_idx", "route_id"));
        operations.Add(new CreateIndexOperation("plugins", "plugins_service_id_idx", "service_id"));
        operations.Add(new CreateIndexOperation("plugins", "plugins_consumer_id_idx", "consumer_id"));
        operations.Add(new CreateIndexOperation("plugins", "plugins_name_idx", "name"));
        operations.Add(new CreateIndexOperation("targets", "targets_upstream_id_idx", "upstream_id"));
        operations.Add(new CreateIndexOperation("snis", "snis_certificate_id_idx", "certificate_id"));
        operations.Add(new CreateIndexOperation("keys", "keys_set_id_idx", "set_id"));
        operations.Add(new CreateIndexOperation("tags", "tags_tag_idx", "tag"));
        operations.Add(new CreateIndexOperation("tags", "tags_entity_name_idx", "entity_name"));
        operations.Add(new CreateIndexOperation("cluster_events", "cluster_events_channel_at_idx", "channel", "at"));
        operations.Add(new CreateIndexOperation("cluster_events", "cluster_events_expire_at_idx", "expire_at"));
        return [.. operations];
    }
}
