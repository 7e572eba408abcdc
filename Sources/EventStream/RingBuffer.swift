/// A double-ended queue on a power-of-two circular array: O(1) append at the back,
/// removal at the front and access by position. It grows on demand; callers that
/// need a bound (a channel log) drop from the front themselves.
public struct RingBuffer<Element> {
    private var storage: [Element?]
    private var head = 0
    public private(set) var count = 0

    public init(initialCapacity: Int = 16) {
        var capacity = 1
        while capacity < max(initialCapacity, 1) { capacity <<= 1 }
        storage = Array(repeating: nil, count: capacity)
    }

    public var isEmpty: Bool { count == 0 }
    public var first: Element? { count > 0 ? storage[head] : nil }
    public var last: Element? { count > 0 ? storage[(head + count - 1) & (storage.count - 1)] : nil }

    /// The element at `position` counted from the front (0 is the oldest).
    public subscript(position: Int) -> Element {
        precondition(position >= 0 && position < count, "RingBuffer index out of range")
        return storage[(head + position) & (storage.count - 1)]!
    }

    public mutating func append(_ element: Element) {
        if count == storage.count { grow() }
        storage[(head + count) & (storage.count - 1)] = element
        count += 1
    }

    /// Prepends, for extending a window backwards with older events.
    public mutating func prepend(_ element: Element) {
        if count == storage.count { grow() }
        head = (head - 1) & (storage.count - 1)
        storage[head] = element
        count += 1
    }

    @discardableResult
    public mutating func removeFirst() -> Element {
        precondition(count > 0, "removeFirst on an empty RingBuffer")
        let element = storage[head]!
        storage[head] = nil
        head = (head + 1) & (storage.count - 1)
        count -= 1
        return element
    }

    public mutating func removeFirst(_ n: Int) {
        for _ in 0..<min(n, count) { removeFirst() }
    }

    public mutating func removeAll() {
        removeFirst(count)
        head = 0
    }

    private mutating func grow() {
        var bigger: [Element?] = Array(repeating: nil, count: storage.count * 2)
        for i in 0..<count { bigger[i] = storage[(head + i) & (storage.count - 1)] }
        storage = bigger
        head = 0
    }
}
