/// Names one scheduled timer, so that it can be cancelled.
public struct TimerHandle: Hashable, Sendable {
    let serial: UInt64
}

/// The timers of one event loop: a binary min-heap by deadline, so the loop
/// can sleep exactly until the earliest one (as redis's `ae.c` does).
///
/// Cancelling marks the entry dead rather than searching the heap; dead
/// entries are skipped when they reach the top. Owned by one loop's thread.
struct TimerHeap {
    private struct Entry {
        let deadline: UInt64
        let serial: UInt64
        let body: () -> Void
    }

    private var entries: [Entry] = []
    /// Serials scheduled and neither run nor cancelled; an entry whose serial
    /// is missing here is dead.
    private var live: Set<UInt64> = []
    private var nextSerial: UInt64 = 1

    var isEmpty: Bool { live.isEmpty }
    /// Timers scheduled and not yet run or cancelled.
    var count: Int { live.count }

    mutating func schedule(at deadline: UInt64, _ body: @escaping () -> Void) -> TimerHandle {
        let serial = nextSerial
        nextSerial += 1
        live.insert(serial)
        entries.append(Entry(deadline: deadline, serial: serial, body: body))
        siftUp(entries.count - 1)
        return TimerHandle(serial: serial)
    }

    mutating func cancel(_ handle: TimerHandle) {
        guard live.remove(handle.serial) != nil else { return }
        dropDeadTop()
    }

    /// The earliest live deadline, if any.
    var nextDeadline: UInt64? { entries.first?.deadline }

    /// Removes and returns the bodies of every timer due at `now`, earliest first.
    mutating func popDue(now: UInt64) -> [() -> Void] {
        var due: [() -> Void] = []
        while let top = entries.first, top.deadline <= now {
            let entry = popTop()
            if live.remove(entry.serial) != nil { due.append(entry.body) }
        }
        dropDeadTop()
        return due
    }

    private mutating func dropDeadTop() {
        while let top = entries.first, !live.contains(top.serial) {
            _ = popTop()
        }
    }

    private mutating func popTop() -> Entry {
        let top = entries[0]
        let last = entries.removeLast()
        if !entries.isEmpty {
            entries[0] = last
            siftDown(0)
        }
        return top
    }

    private func less(_ a: Int, _ b: Int) -> Bool {
        entries[a].deadline != entries[b].deadline
            ? entries[a].deadline < entries[b].deadline : entries[a].serial < entries[b].serial
    }

    private mutating func siftUp(_ index: Int) {
        var child = index
        while child > 0 {
            let parent = (child - 1) / 2
            guard less(child, parent) else { return }
            entries.swapAt(child, parent)
            child = parent
        }
    }

    private mutating func siftDown(_ index: Int) {
        var parent = index
        while true {
            let left = 2 * parent + 1
            let right = left + 1
            var smallest = parent
            if left < entries.count && less(left, smallest) { smallest = left }
            if right < entries.count && less(right, smallest) { smallest = right }
            if smallest == parent { return }
            entries.swapAt(parent, smallest)
            parent = smallest
        }
    }
}
