/// One named stream of events: its log, and who on which event loop listens.
///
/// Every field is guarded by the hub's lock.
public final class Channel: @unchecked Sendable {
    public let name: String
    let log: MemoryLog
    /// Subscriptions to this channel per delivery group (event loop).
    var subscribersByGroup: [Int]
    /// Groups already told about new events and not yet synced, as a bit mask.
    var pendingGroups: UInt64 = 0
    var publishedCount: UInt64 = 0
    var lastID: EventID?
    /// With a store: the id after which this cache holds every event (older
    /// ones must come from the store). Nil without a store.
    var cachedSince: EventID?

    init(name: String, log: MemoryLog, groupCount: Int) {
        self.name = name
        self.log = log
        subscribersByGroup = Array(repeating: 0, count: groupCount)
    }

    var subscriberCount: Int { subscribersByGroup.reduce(0, +) }
}

/// A snapshot of one channel for `/channels` and `/metrics`.
public struct ChannelInfo: Sendable, Equatable {
    public var name: String
    public var subscribers: Int
    public var buffered: Int
    public var lastID: EventID?
    public var published: UInt64
}
