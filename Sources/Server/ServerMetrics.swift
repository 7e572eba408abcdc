import Synchronization

/// Counters shared by every event loop, read by `/metrics`.
final class ServerMetrics: Sendable {
    let connections = Atomic<Int>(0)
    let subscribers = Atomic<Int>(0)
    let droppedSubscribers = Atomic<UInt64>(0)
    let rejectedConnections = Atomic<UInt64>(0)
    let auth = AuthMetrics()
    /// Events delivered, one counter per loop so loops do not contend on the
    /// delivery path; each loop adds its count once per pass.
    let delivered: [Counter]

    /// One loop's counter, in its own allocation.
    final class Counter: Sendable {
        let value = Atomic<UInt64>(0)
        // Keeps two loops' counters off one cache line.
        private let padding: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0, 0)
    }

    init(loopCount: Int) {
        delivered = (0..<loopCount).map { _ in Counter() }
    }

    var deliveredTotal: UInt64 { delivered.reduce(0) { $0 + $1.value.load(ordering: .relaxed) } }
}
