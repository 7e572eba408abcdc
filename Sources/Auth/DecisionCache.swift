/// Decisions kept for a short while (an app's `Cache-Control: max-age`), by
/// key, each until a time the caller gives; at most `capacity` of them, the
/// oldest stored forgotten first when full.
///
/// Time is whatever monotonic count the caller passes as `now` and `expiry`
/// (e.g. `Clock.monotonicNanos()`); the cache reads no clock itself, so
/// tests drive it with a fake one.
///
/// Not thread-safe: each event loop owns one and touches it only on its thread.
public struct DecisionCache<Value> {
    private struct Entry {
        var value: Value
        var expiry: UInt64
        /// Which store this is, to tell its slot in `order` from older ones of the same key.
        var generation: UInt64
    }

    public let capacity: Int
    private var entries: [String: Entry] = [:]
    /// Keys in the order stored, oldest at `head`; a slot whose generation no
    /// longer matches its entry's is stale and skipped.
    private var order: [(key: String, generation: UInt64)] = []
    private var head = 0
    private var generation: UInt64 = 0

    public init(capacity: Int = 10_000) {
        self.capacity = max(1, capacity)
    }

    /// Entries held, expired ones not yet dropped included.
    public var count: Int { entries.count }

    /// The value stored for `key` if it has not expired at `now` (valid while `now < expiry`).
    public mutating func value(for key: String, now: UInt64) -> Value? {
        guard let entry = entries[key] else { return nil }
        guard now < entry.expiry else {
            entries[key] = nil
            return nil
        }
        return entry.value
    }

    /// Keeps `value` for `key` until `expiry`, replacing what was there. When
    /// full, expired entries at the old end go first, then the oldest.
    public mutating func store(_ value: Value, for key: String, expiry: UInt64, now: UInt64) {
        guard now < expiry else {
            entries[key] = nil
            return
        }
        // A few expired or stale slots go with every store, so the old end stays clean.
        var cleaned = 0
        while cleaned < 4, let slot = oldest(), let entry = entries[slot.key], entry.expiry <= now {
            entries[slot.key] = nil
            head += 1
            cleaned += 1
        }
        if entries[key] == nil {
            while entries.count >= capacity, let slot = oldest() {
                entries[slot.key] = nil
                head += 1
            }
        }
        generation &+= 1
        entries[key] = Entry(value: value, expiry: expiry, generation: generation)
        order.append((key, generation))
        compactOrder()
    }

    /// Forgets `key`.
    public mutating func remove(_ key: String) {
        entries[key] = nil
    }

    /// Forgets everything.
    public mutating func removeAll() {
        entries.removeAll()
        order.removeAll()
        head = 0
    }

    /// The oldest slot that still names a live entry, stale slots before it dropped.
    private mutating func oldest() -> (key: String, generation: UInt64)? {
        while head < order.count {
            let slot = order[head]
            if let entry = entries[slot.key], entry.generation == slot.generation { return slot }
            head += 1
        }
        return nil
    }

    /// Keeps `order` from growing past twice the entries (a key stored again
    /// leaves a stale slot behind).
    private mutating func compactOrder() {
        if head > 0 && head * 2 >= order.count {
            order.removeFirst(head)
            head = 0
        }
        if order.count > 2 * max(capacity, 16) {
            order = order[head...].filter { entries[$0.key]?.generation == $0.generation }
            head = 0
        }
    }
}
