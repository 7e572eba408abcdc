import EventStream

/// The figures `GET /presence/{channel}` answers with, from this node's
/// registry or summed over every node.
public struct PresenceSnapshot: Sendable, Equatable {
    /// One user's line: info JSON text (nil: none) and connections (0 within the grace).
    public struct User: Sendable, Equatable {
        public var user: String
        public var info: String?
        public var connections: Int

        public init(user: String, info: String?, connections: Int) {
            self.user = user
            self.info = info
            self.connections = connections
        }
    }

    public var channel: String
    /// The newest id of `presence/{channel}`, `0` when it has none.
    public var lastEventID: String
    public var connections: Int
    public var users: [User]

    public init(channel: String, lastEventID: String, connections: Int, users: [User]) {
        self.channel = channel
        self.lastEventID = lastEventID
        self.connections = connections
        self.users = users
    }

    /// `{"channel", "lastEventId", "connections", "users": [{"user", "info",
    /// "connections"}]}`, users by name.
    public var json: String {
        var text = "{\"channel\":\(JSONText.quoted(channel)),\"lastEventId\":\(JSONText.quoted(lastEventID))"
        text += ",\"connections\":\(connections),\"users\":["
        var first = true
        for member in users.sorted(by: { $0.user < $1.user }) {
            if !first { text += "," }
            first = false
            text += "{\"user\":\(JSONText.quoted(member.user)),\"info\":\(member.info ?? "null"),\"connections\":\(member.connections)}"
        }
        return text + "]}"
    }
}
