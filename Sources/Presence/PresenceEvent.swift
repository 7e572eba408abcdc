import EventStream

/// What the registry reports, in the order things happened: `join`/`leave`
/// for a channel's `presence/{channel}` channel, and webhook events.
public enum PresenceEvent: Sendable, Equatable {
    /// A user's first connection to the channel.
    case join(channel: String, user: String, info: String?)
    /// A user with no connection to the channel for the leave grace.
    case leave(channel: String, user: String, info: String?)
    case webhook(WebhookEvent)

    /// The event as it is published on `presence/{channel}`; nil for a webhook.
    public var channelEvent: Event? {
        switch self {
        case .join(_, let user, let info): return Event(type: "join", data: Self.memberJSON(user: user, info: info))
        case .leave(_, let user, let info): return Event(type: "leave", data: Self.memberJSON(user: user, info: info))
        case .webhook: return nil
        }
    }

    /// `{"user","info"}`: the data of `join` and `leave`; `info` is the JSON
    /// text the identity carried, or null.
    public static func memberJSON(user: String, info: String?) -> String {
        "{\"user\":\(JSONText.quoted(user)),\"info\":\(info ?? "null")}"
    }
}
