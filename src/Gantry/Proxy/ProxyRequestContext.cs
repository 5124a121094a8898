namespace Gantry.Proxy;

/// <summary>
/// What other stages of the proxy leave on the request for the balancer to read. An authentication
/// plugin that identifies a consumer stores its id (a <see cref="Guid"/>) in
/// <c>HttpContext.Items["gantry.consumer"]</c>; <c>hash_on = consumer</c> hashes it.
/// </summary>
public static class ProxyRequestContext
{
    public const string ConsumerKey = "gantry.consumer";

    /// <summary>Records the consumer an authentication plugin identified.</summary>
    public static void SetConsumer(HttpContext http, Guid consumer) => http.Items[ConsumerKey] = consumer;

    /// <summary>The authenticated consumer's id, or null when no plugin identified one.</summary>
    public static Guid? ConsumerId(HttpContext http) =>
        http.Items.TryGetValue(ConsumerKey, out var value) && value is Guid id ? id : null;
}
