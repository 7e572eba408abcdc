/// One named stream of events: its log, and who on which event loop listens.
///
/// Every field is guarded by the hub's lock; the ones touched per event are
/// unchecked for exclusive access (the lock is the check; the dynamic one costs
/// ~90 instructions per access).
public final class Channel: @unchecked Sendable {
    public let name: String
    let log: MemoryLog
    /// Subscriptions to this channel per delivery group (event loop).
    @exclusivity(unchecked) var subscribersByGroup: [Int]
    /// Groups already told about new events and not yet synced, as a bit mask.
    @exclusivity(unchecked) var pendingGroups: UInt64 = 0
    @exclusivity(unchecked) var publishedCount: UInt64 = 0
    @exclusivity(unchecked) var lastID: EventID?
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
