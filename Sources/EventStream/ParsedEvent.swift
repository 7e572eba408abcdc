/// An event as a client receives it from an event stream (WHATWG "dispatch the event").
public struct ParsedEvent: Sendable, Equatable {
    /// The `id:` field this event carried, if any ("" when it reset the id).
    public var id: String?
    /// The stream's last event id when this event was dispatched: what a reconnect sends
    /// as `Last-Event-ID` (it persists across events that carry no `id:`).
    public var lastEventID: String
    /// The `event:` field, `message` when absent or empty.
    public var type: String
    /// The `data:` lines joined with LF.
    public var data: String

    public init(id: String? = nil, lastEventID: String = "", type: String = "message", data: String) {
        self.id = id
        self.lastEventID = lastEventID
        self.type = type
        self.data = data
    }
}
