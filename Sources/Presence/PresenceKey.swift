/// A node's share of presence that can change on its own: a channel's
/// connections (`user` nil), or one user's connections to a channel.
public struct PresenceKey: Hashable, Sendable {
    public var channel: String
    /// nil for the channel as a whole.
    public var user: String?

    public init(channel: String, user: String?) {
        self.channel = channel
        self.user = user
    }
}

/// What this node holds of a `PresenceKey` at one moment, read from the registry.
public struct PresenceShare: Sendable, Equatable {
    public var key: PresenceKey
    /// Connections on this node; 0 within the leave grace; nil once gone (after the grace).
    public var connections: Int?
    /// The user's info (JSON text), when it has one.
    public var info: String?

    public init(key: PresenceKey, connections: Int?, info: String? = nil) {
        self.key = key
        self.connections = connections
        self.info = info
    }
}
