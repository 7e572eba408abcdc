/// One event loop's view of a channel: references to the events its subscribers
/// still have to send, from the oldest cursor up to the channel's end.
///
/// The loop fills it under the hub's lock once per wake-up, then every subscriber
/// on the loop writes from it without any lock: the bytes are shared, not copied.
/// Owned by one event loop; touched only on that loop's thread. The events and
/// `start` are unchecked for exclusive access: read for every event written to
/// every subscriber, the dynamic check (~90 instructions) would cost more than the read.
public final class ChannelWindow: @unchecked Sendable {
    public let channel: Channel
    @exclusivity(unchecked) private var events = RingBuffer<WireEvent>()
    /// Sequence number of the oldest event held.
    @exclusivity(unchecked) public private(set) var start: UInt64
    /// Subscriptions on this loop that read from the window.
    public internal(set) var subscriptions = 0
    /// `end` when the loop last looked for events to forget; it looks again
    /// only after more have come, so a stuck reader does not cost a scan a pass.
    public var trimCheckedAt: UInt64 = 0
    /// The most the window holds; a cursor left behind that is cut off, as by the log.
    let capacity: Int

    init(channel: Channel, start: UInt64, capacity: Int) {
        self.channel = channel
        self.start = start
        self.capacity = capacity
    }

    public var name: String { channel.name }
    /// One past the newest event held.
    public var end: UInt64 { start + UInt64(events.count) }

    /// The event at `sequence` (start <= sequence < end).
    public func event(at sequence: UInt64) -> WireEvent {
        events[Int(sequence - start)]
    }

    /// The bytes of the event at `sequence` to write: the whole chunk, or
    /// only the event-stream block when `chunked` is false. Valid while the
    /// window holds the event; reading them takes no reference.
    @inline(__always)
    public func segment(at sequence: UInt64, chunked: Bool) -> UnsafeRawBufferPointer {
        let event = events[Int(sequence - start)]
        return chunked ? UnsafeRawBufferPointer(event.bytes) : event.body
    }

    /// True when `cursor` has fallen behind what the window (and the log) still hold.
    public func hasLost(_ cursor: UInt64) -> Bool { cursor < start }

    /// Forgets events every local subscriber has sent (`oldestCursor` is the
    /// smallest cursor among them).
    public func trim(upTo oldestCursor: UInt64) {
        guard oldestCursor > start else { return }
        let n = Int(min(oldestCursor, end) - start)
        events.removeFirst(n)
        start += UInt64(n)
    }

    // MARK: under the hub lock

    func appendNew(from log: ChannelLog) {
        let logEnd = log.endSequence
        var next = end
        if next < log.startSequence {
            // The log moved past us: what it forgot, we cannot fetch either.
            events.removeAll()
            start = log.startSequence
            next = start
        }
        while next < logEnd {
            events.append(log.event(at: next))
            next += 1
        }
        if events.count > capacity {
            let excess = events.count - capacity
            events.removeFirst(excess)
            start += UInt64(excess)
        }
    }

    func extendBack(to sequence: UInt64, from log: ChannelLog) {
        let target = max(sequence, log.startSequence)
        while start > target {
            start -= 1
            events.prepend(log.event(at: start))
        }
    }
}
