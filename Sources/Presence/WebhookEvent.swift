import EventStream

/// One presence webhook event: `{"name", "channel", "user"?}` in a delivery's `events`.
public struct WebhookEvent: Sendable, Equatable {
    /// The names the contract lists.
    public enum Name: String, Sendable {
        case channelOccupied = "channel_occupied"
        case channelVacated = "channel_vacated"
        case memberAdded = "member_added"
        case memberRemoved = "member_removed"
    }

    public var name: Name
    public var channel: String
    /// The member, for `member_added` and `member_removed`.
    public var user: String?

    public init(_ name: Name, channel: String, user: String? = nil) {
        self.name = name
        self.channel = channel
        self.user = user
    }

    public var json: String {
        var text = "{\"name\":\"\(name.rawValue)\",\"channel\":\(JSONText.quoted(channel))"
        if let user { text += ",\"user\":\(JSONText.quoted(user))" }
        return text + "}"
    }
}
