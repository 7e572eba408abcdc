/// The history of one channel, addressed by a per-channel sequence number.
///
/// Events get sequence numbers 0, 1, 2, … in publish order; the log keeps the
/// newest ones and forgets the oldest. This is the seam for another backend
/// (Redis Streams) beside the in-memory ring.
public protocol ChannelLog: AnyObject {
    /// The sequence number the next appended event gets.
    var endSequence: UInt64 { get }
    /// The oldest sequence number still held (== endSequence when empty).
    var startSequence: UInt64 { get }
    /// The id of the newest event the log has forgotten, if any.
    var lastDroppedID: EventID? { get }
    func append(_ event: WireEvent)
    /// The event at `sequence`, which must lie in startSequence..<endSequence.
    func event(at sequence: UInt64) -> WireEvent
    /// The sequence of the first held event whose id is greater than `id`.
    func firstSequence(after id: EventID) -> UInt64
}

/// A channel log in memory: a ring of the last `capacity` events.
public final class MemoryLog: ChannelLog {
    public let capacity: Int
    private var ring: RingBuffer<WireEvent>
    public private(set) var startSequence: UInt64 = 0
    public private(set) var lastDroppedID: EventID?

    public init(capacity: Int) {
        self.capacity = max(capacity, 1)
        // Small at first: a channel that is only subscribed to costs little.
        ring = RingBuffer(initialCapacity: min(self.capacity, 16))
    }

    public var endSequence: UInt64 { startSequence + UInt64(ring.count) }

    public func append(_ event: WireEvent) {
        if ring.count == capacity {
            lastDroppedID = ring.removeFirst().id
            startSequence += 1
        }
        ring.append(event)
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
