/// An event on its way in, with the channel it goes to.
public struct RoutedEvent: Sendable, Equatable {
    public var channel: String
    public var event: Event

    public init(channel: String, event: Event) {
        self.channel = channel
        self.event = event
    }
}

/// An event another place has numbered already (a store shared by several
/// nodes): the hub takes it in as it is.
public struct NumberedEvent: Sendable, Equatable {
    public var id: EventID
    public var channel: String
    public var type: String
    public var data: String

    public init(id: EventID, channel: String, type: String, data: String) {
        self.id = id
        self.channel = channel
        self.type = type
        self.data = data
    }
}

/// What a store still holds of a channel after a given id.
public struct StoreHistory: Sendable {
    /// The events after the id, oldest first.
    public var events: [NumberedEvent]
    /// False when the store has forgotten events after the id (the client
    /// gets an `sse-gap`); `lostThrough` then names the newest it forgot, when known.
    public var complete: Bool
    public var lostThrough: EventID?

    public init(events: [NumberedEvent], complete: Bool, lostThrough: EventID? = nil) {
        self.events = events
        self.complete = complete
        self.lostThrough = lostThrough
    }
}

/// Where events are numbered and kept when they are not only in this process's
/// memory: the seam for scale-out (Redis Streams).
///
/// Without a store the hub numbers events itself and its in-memory rings are
/// the history. With one, a publish goes to the store, which answers with ids
/// once the events are kept, and the store feeds every event (from any node)
/// back through `Hub.ingest`; the rings are then a cache of the store.
/// Completions may be called on any thread.
public protocol EventStore: AnyObject, Sendable {
    /// Numbers and keeps `batch` in order; `done` gets the ids, or why not
    /// (`.unavailable` when the store cannot be reached: nothing was kept).
    func append(_ batch: [RoutedEvent], done: @escaping @Sendable (Result<[EventID], PublishError>) -> Void)

    /// The events of `channel` after `id` (at most `limit`), for a replay that
    /// reaches back further than the local cache.
    func history(channel: String, after id: EventID, limit: Int, done: @escaping @Sendable (Result<StoreHistory, PublishError>) -> Void)

    /// Nil while the store works; otherwise the reason, for `/readyz`.
    var unavailableReason: String? { get }
}
