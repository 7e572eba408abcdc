import EventStream

/// Where the registry's events go in the server: `join`/`leave` onto the
/// hub's `presence/{channel}` channels, webhook events into the webhook queue.
public struct PresencePublisher: Sendable {
    public let hub: Hub
    /// nil without `--webhook`.
    public let webhooks: WebhookQueue?

    public init(hub: Hub, webhooks: WebhookQueue?) {
        self.hub = hub
        self.webhooks = webhooks
    }

    public func publish(_ event: PresenceEvent) {
        switch event {
        case .join(let channel, _, _), .leave(let channel, _, _):
            let name = PresenceRegistry.presenceChannel(for: channel)
            // A channel name near the length limit has no presence channel a
            // client could name; its events would only take memory.
            guard ChannelName.isValid(name), let channelEvent = event.channelEvent else { return }
            hub.publishSystem([channelEvent], to: name)
        case .webhook(let webhook):
            webhooks?.enqueue(webhook)
        }
    }

    /// A registry whose events go here and whose snapshots read the hub's ids.
    public func makeRegistry(leaveGrace: Double, clock: @escaping @Sendable () -> UInt64) -> PresenceRegistry {
        PresenceRegistry(leaveGrace: leaveGrace, clock: clock, lastEventID: { [hub] in hub.lastID(of: $0) }, output: publish)
    }
}
