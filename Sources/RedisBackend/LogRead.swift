import EventStream

/// What one read of the shared log brought: events after the cursor, oldest
/// first, and whether the log had already lost some of them.
public struct LogRead: Sendable, Equatable {
    public var events: [NumberedEvent]
    /// The log no longer holds everything after the cursor (trimmed past it,
    /// or Redis was emptied): events were missed, and subscribers must be told
    /// (`sse-gap`) rather than left to believe they have everything.
    public var gap: Bool
    /// The newest id the log has dropped, when known.
    public var lostThrough: EventID?
    /// The cursor for the next read: the last event's id, or where to restart
    /// (`0` after Redis was emptied), or the same cursor when nothing came.
    public var next: EventID

    public init(events: [NumberedEvent], gap: Bool, lostThrough: EventID?, next: EventID) {
        self.events = events
        self.gap = gap
        self.lostThrough = lostThrough
        self.next = next
    }
}
