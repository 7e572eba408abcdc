/// The history one process holds of a channel, addressed by a per-channel
/// sequence number: the whole history without a store, a cache of the store's
/// with one. Guarded by the hub's state lock.
///
/// Events get sequence numbers 0, 1, 2, … in id order; the log keeps the
/// newest ones and forgets the oldest.
public protocol ChannelLog: AnyObject {
    /// The sequence number the next appended event gets.
    var endSequence: UInt64 { get }
    /// The oldest sequence number still held (== endSequence when empty).
    var startSequence: UInt64 { get }
    /// The id of the newest event the log has forgotten, if any.
    var lastDroppedID: EventID? { get }
    /// The event at `sequence`, which must lie in startSequence..<endSequence.
    func event(at sequence: UInt64) -> WireEvent
    /// The sequence of the first held event whose id is greater than `id`.
    func firstSequence(after id: EventID) -> UInt64
}

/// A channel log in memory: a ring of the last `capacity` events, and the
/// bytes they hold, for the hub's memory budget.
///
/// Its state is unchecked for exclusive access (`@exclusivity(unchecked)`): the
/// hub's lock already makes each access exclusive, and the dynamic check costs
/// ~90 instructions per access, several per event published.
public final class MemoryLog: ChannelLog {
    public let capacity: Int
    @exclusivity(unchecked) private var ring: RingBuffer<WireEvent>
    /// Starts far from zero so that older events from a store can be put in
    /// front of a new log without renumbering what subscribers point at.
    @exclusivity(unchecked) public private(set) var startSequence: UInt64 = 1 << 40
    public private(set) var lastDroppedID: EventID?
    /// Bytes held, counted as the hub's memory budget counts them.
    @exclusivity(unchecked) public private(set) var bytes = 0

    public init(capacity: Int) {
        self.capacity = max(capacity, 1)
        // Small at first: a channel that is only subscribed to costs little.
        ring = RingBuffer(initialCapacity: min(self.capacity, 16))
    }

    /// What an event costs the budget: its bytes and its allocation's header.
    @inline(__always)
    static func cost(_ event: WireEvent) -> Int { event.bytes.count + 48 }

    public var endSequence: UInt64 { startSequence + UInt64(ring.count) }
    public var count: Int { ring.count }

    /// Appends; returns the change in bytes held (less when the oldest went).
    @discardableResult
    public func append(_ event: consuming WireEvent) -> Int {
        let cost = Self.cost(event)
        var delta = cost
        if ring.count == capacity { delta -= dropOldest() }
        ring.append(event)
        bytes += cost
        return delta
    }

    /// Forgets the oldest event; returns the bytes freed (0 when empty).
    @discardableResult
    public func dropOldest() -> Int {
        guard !ring.isEmpty else { return 0 }
        let event = ring.removeFirst()
        lastDroppedID = event.id
        startSequence += 1
        let freed = Self.cost(event)
        bytes -= freed
        return freed
    }

    /// Puts older events (in id order) in front, as many as there is room for,
    /// newest first; the ones that do not fit count as forgotten. Events not
    /// older than the oldest held are skipped. Returns the bytes added.
    /// Sequence numbers of held events do not change: the new ones get lower ones.
    @discardableResult
    public func prepend(_ older: [WireEvent]) -> Int {
        var added = 0
        var index = older.count - 1
        let oldest = ring.isEmpty ? nil : ring[0].id
        while index >= 0, let limit = oldest, older[index].id >= limit { index -= 1 }
        while index >= 0 && ring.count < capacity && startSequence > 0 {
            let event = older[index]
            ring.prepend(event)
            startSequence -= 1
            bytes += Self.cost(event)
            added += Self.cost(event)
            index -= 1
        }
        if index >= 0 { noteDropped(older[index].id) }
        return added
    }

    /// Records that events up to `id` exist that the log does not hold.
    public func noteDropped(_ id: EventID) {
        if lastDroppedID.map({ id > $0 }) ?? true { lastDroppedID = id }
    }

    public func event(at sequence: UInt64) -> WireEvent {
        ring[Int(sequence - startSequence)]
    }

    public func firstSequence(after id: EventID) -> UInt64 {
        var lo = 0
        var hi = ring.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if ring[mid].id <= id { lo = mid + 1 } else { hi = mid }
        }
        return startSequence + UInt64(lo)
    }
}
