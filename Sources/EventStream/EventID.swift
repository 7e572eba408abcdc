/// An event id: `MILLISECONDS-SEQUENCE`, ordered by comparing the groups numerically.
///
/// The first group is the wall-clock time the event was published, the second
/// counts events within that millisecond (the Redis Streams scheme), so ids rise
/// across all channels and keep rising after a restart.
public struct EventID: Comparable, Hashable, Sendable, CustomStringConvertible {
    public var millis: UInt64
    public var sequence: UInt64

    public init(millis: UInt64, sequence: UInt64) {
        self.millis = millis
        self.sequence = sequence
    }

    /// The id that precedes every other: `0` asks for everything buffered.
    public static let zero = EventID(millis: 0, sequence: 0)

    /// Reads `N` or `N-M` (decimal digits only); nil for anything else.
    public init?(parsing text: Substring) {
        var groups: [UInt64] = []
        for group in text.split(separator: "-", omittingEmptySubsequences: false) {
            guard !group.isEmpty, group.utf8.count <= 20, group.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
                let value = UInt64(group)
            else { return nil }
            groups.append(value)
        }
        guard groups.count == 1 || groups.count == 2 else { return nil }
        self.init(millis: groups[0], sequence: groups.count == 2 ? groups[1] : 0)
    }

    public init?(parsing text: String) { self.init(parsing: Substring(text)) }

    public static func < (a: EventID, b: EventID) -> Bool {
        a.millis != b.millis ? a.millis < b.millis : a.sequence < b.sequence
    }

    public var description: String { "\(millis)-\(sequence)" }

    /// The greatest id below this one (`.zero` stays `.zero`).
    public var predecessor: EventID {
        if sequence > 0 { return EventID(millis: millis, sequence: sequence - 1) }
        if millis > 0 { return EventID(millis: millis - 1, sequence: .max) }
        return self
    }
}

/// Hands out strictly increasing ids: the clock's millisecond when it has moved on,
/// otherwise the last millisecond with the next sequence number.
public struct EventIDGenerator: Sendable {
    public private(set) var last: EventID

    public init(last: EventID = .zero) { self.last = last }

    public mutating func next(nowMillis: UInt64) -> EventID {
        if nowMillis > last.millis {
            last = EventID(millis: nowMillis, sequence: 0)
        } else {
            last.sequence += 1
        }
        return last
    }
}
