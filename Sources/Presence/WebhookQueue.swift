import Foundation
import Reactor
import Synchronization

/// The webhook events waiting to be sent, oldest first, at most `capacity`:
/// when full, the oldest is dropped and counted. Filled from any thread
/// (never waiting), emptied in batches by the sender's thread.
public final class WebhookQueue: @unchecked Sendable {
    public let capacity: Int
    /// Events dropped because the queue was full or their batch was given up.
    public let dropped = Atomic<UInt64>(0)
    private let condition = NSCondition()
    // Guarded by `condition`.
    private var entries: [Entry] = []
    private var head = 0
    private var stopped = false

    private struct Entry {
        var event: WebhookEvent
        /// Monotonic nanoseconds, for the batch's longest wait.
        var queuedAt: UInt64
    }

    public init(capacity: Int = 10_000) {
        self.capacity = max(1, capacity)
    }

    public func enqueue(_ event: WebhookEvent) {
        let now = Clock.monotonicNanos()
        condition.lock()
        if entries.count - head >= capacity {
            head += 1
            dropped.add(1, ordering: .relaxed)
        }
        entries.append(Entry(event: event, queuedAt: now))
        // Reclaims the dropped and taken front now and then, not on every take.
        if head > 1024 && head * 2 > entries.count {
            entries.removeFirst(head)
            head = 0
        }
        condition.signal()
        condition.unlock()
    }

    /// Events waiting.
    public var count: Int {
        condition.lock()
        defer { condition.unlock() }
        return entries.count - head
    }

    /// Waits for the next batch: up to `maxCount` events, taken once that many
    /// wait or the oldest has waited `maxWait` seconds. nil once stopped.
    func nextBatch(maxCount: Int, maxWait: Double) -> [WebhookEvent]? {
        condition.lock()
        defer { condition.unlock() }
        while !stopped && entries.count == head { condition.wait() }
        while !stopped && entries.count - head < maxCount {
            let waited = Double(Clock.monotonicNanos() &- entries[head].queuedAt) / 1e9
            if waited >= maxWait { break }
            _ = condition.wait(until: Date(timeIntervalSinceNow: maxWait - waited))
        }
        guard !stopped else { return nil }
        let end = min(entries.count, head + maxCount)
        let batch = entries[head..<end].map(\.event)
        head = end
        if head == entries.count {
            entries.removeAll(keepingCapacity: entries.count < 4096)
            head = 0
        }
        return batch
    }

    /// Sleeps `seconds` unless stopped first; true when stopped.
    func pause(_ seconds: Double) -> Bool {
        let deadline = Date(timeIntervalSinceNow: seconds)
        condition.lock()
        defer { condition.unlock() }
        while !stopped {
            if !condition.wait(until: deadline) { break }
        }
        return stopped
    }

    /// Wakes the sender for good: `nextBatch` answers nil, `pause` true.
    func stop() {
        condition.lock()
        stopped = true
        condition.broadcast()
        condition.unlock()
    }
}
