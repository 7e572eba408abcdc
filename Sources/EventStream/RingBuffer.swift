/// A double-ended queue on a power-of-two circular array: O(1) append at the back,
/// removal at the front and access by position. It grows on demand (moving, not
/// copying, its elements); callers that need a bound drop from the front themselves.
///
/// Not copyable: one owner, so no copy-on-write check on the hot path.
public struct RingBuffer<Element>: ~Copyable {
    private var storage: UnsafeMutablePointer<Element>
    private var capacity: Int
    private var head = 0
    public private(set) var count = 0

    public init(initialCapacity: Int = 16) {
        var capacity = 1
        while capacity < max(initialCapacity, 1) { capacity <<= 1 }
        self.capacity = capacity
        storage = .allocate(capacity: capacity)
    }

    deinit {
        for i in 0..<count { (storage + ((head + i) & (capacity - 1))).deinitialize(count: 1) }
        storage.deallocate()
    }

    public var isEmpty: Bool { count == 0 }

    /// The element at `position` counted from the front (0 is the oldest).
    public subscript(position: Int) -> Element {
        precondition(position >= 0 && position < count, "RingBuffer index out of range")
        return storage[(head + position) & (capacity - 1)]
    }

    /// Takes the element over (`consuming`): a caller that is done with it hands its
    /// reference in, with no retain here and no release there.
    public mutating func append(_ element: consuming Element) {
        if count == capacity { grow() }
        (storage + ((head + count) & (capacity - 1))).initialize(to: element)
        count += 1
    }

    /// Prepends, for extending a window backwards with older events.
    public mutating func prepend(_ element: Element) {
        if count == capacity { grow() }
        head = (head - 1) & (capacity - 1)
        (storage + head).initialize(to: element)
        count += 1
    }

    @discardableResult
    public mutating func removeFirst() -> Element {
        precondition(count > 0, "removeFirst on an empty RingBuffer")
        let element = (storage + head).move()
        head = (head + 1) & (capacity - 1)
        count -= 1
        return element
    }

    public mutating func removeFirst(_ n: Int) {
        for _ in 0..<min(n, count) {
            (storage + head).deinitialize(count: 1)
            head = (head + 1) & (capacity - 1)
            count -= 1
        }
    }

    public mutating func removeAll() {
        removeFirst(count)
        head = 0
    }

    private mutating func grow() {
        let bigger = UnsafeMutablePointer<Element>.allocate(capacity: capacity * 2)
        let firstRun = min(count, capacity - head)
        bigger.moveInitialize(from: storage + head, count: firstRun)
        if firstRun < count { (bigger + firstRun).moveInitialize(from: storage, count: count - firstRun) }
        storage.deallocate()
        storage = bigger
        capacity *= 2
        head = 0
    }
}
