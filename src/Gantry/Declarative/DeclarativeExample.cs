namespace Gantry.Declarative;

/// <summary>The commented example document <c>gantry config init</c> writes; a unit test loads it.</summary>
public static class DeclarativeExample
{
    public const string Text = """
        # A declarative configuration for Gantry, in Kong's format (read by 'gantry config parse',
        # 'gantry config db_import', and by nodes with database = off).
        #
        # Check it:        gantry config parse kong.yml
        # Load it:         gantry config db_import kong.yml
        # Export a store:  gantry config db_export kong.yml
        #
        # Every entity may have an 'id' (a UUID); one left out is derived from the entity's name or
        # content, so loading this file twice gives the same ids. Children nest under their parent
        # (routes under a service) or sit at the top level naming it ('service: example-service').
        # Keys starting with '_' besides _format_version and _transform are ignored (use _comment).

        _format_version: "3.0"

        # true (the default): values are as a client writes them; basic-auth passwords are hashed.
        # false: values are as stored, as 'config db_export' writes them.
        _transform: true

        services:
        - name: example-service
          url: http://example.com
          # Routes decide which requests reach the service.
          routes:
          - name: example-route
            paths:
            - /example
            # A path starting with '~' is a regular expression.
          - name: example-items
            paths:
            - ~/items/\d+$
          # Plugins nested under a service apply to all of its routes.
          plugins:
          - name: key-auth
            config:
              key_names:
              - apikey

        # Consumers, with their credentials nested under them.
        consumers:
        - username: example-user
          keyauth_credentials:
          - key: my-secret-key
          acls:
          - group: example-group

        # A plugin at the top level names its scope by endpoint key (or id); with none, it is global.
        plugins:
        - name: rate-limiting
          service: example-service
          config:
            minute: 60
            policy: local

        # An upstream balances a service over targets ('url: http://example-upstream' would use it).
        upstreams:
        - name: example-upstream
          targets:
          - target: 127.0.0.1:8080
            weight: 100
        """;
}
