/// Presence kept together with other nodes (with `--redis`). When the server
/// has one, this node's registry is only its own share (with the leave grace):
/// every change of a share is handed here, and it decides `join`/`leave` and
/// the webhooks over all nodes and answers snapshots for all of them.
public protocol SharedPresence: AnyObject, Sendable {
    /// A share of this node may have changed; read it back from the registry
    /// later. Called under the registry's lock: quick, never calls back into it.
    func changed(_ key: PresenceKey)

    /// Starts keeping this node's share of `registry` (from any thread).
    /// Webhook transitions that this node's calls make go to `webhooks`.
    func start(registry: PresenceRegistry, webhooks: @escaping @Sendable (WebhookEvent) -> Void)

    /// The snapshot of `channel` over every node, or why it cannot be had;
    /// `done` runs on any thread.
    func snapshot(_ channel: String, done: @escaping @Sendable (Result<PresenceSnapshot, PresenceUnavailable>) -> Void)

    /// A graceful stop, after the node's streams have closed: sends what is
    /// left and lets the node's share lapse only after the leave grace, so
    /// clients that reconnect to another node meanwhile make no leave. Waits
    /// (bounded) for that.
    func stop()
}

/// Why shared presence cannot answer (its store is unreachable).
public struct PresenceUnavailable: Error, Sendable, CustomStringConvertible {
    public var reason: String
    public init(_ reason: String) { self.reason = reason }
    public var description: String { reason }
}
