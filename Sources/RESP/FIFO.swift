/// A first-in first-out queue: appends at the back, takes from the front, no
/// shifting of elements on each take (the taken prefix is dropped in bulk).
struct FIFO<Element> {
    private var storage: [Element?] = []
    private var head = 0

    var isEmpty: Bool { head == storage.count }
    var count: Int { storage.count - head }

    mutating func append(_ element: Element) { storage.append(element) }

    var first: Element? { isEmpty ? nil : storage[head] }

    mutating func popFirst() -> Element? {
        guard !isEmpty else { return nil }
        let element = storage[head]
        storage[head] = nil
        head += 1
        if head == storage.count {
            storage.removeAll(keepingCapacity: storage.capacity <= 4096)
            head = 0
        } else if head >= 1024 && head * 2 >= storage.count {
            storage.removeSubrange(0..<head)
            head = 0
        }
        return element
    }

    /// Empties the queue and returns what it held, in order.
    mutating func removeAll() -> [Element] {
        let taken = storage[head...].map { $0! }
        storage.removeAll()
        head = 0
        return taken
    }

    /// Visits every element, front to back.
    func forEach(_ body: (Element) -> Void) {
        for index in head..<storage.count { body(storage[index]!) }
    }
}
