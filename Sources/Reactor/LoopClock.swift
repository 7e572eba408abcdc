import Glibc
import Synchronization

/// Where an event loop reads the time: the system's monotonic clock in
/// production, a hand-turned one in tests, so timeouts can be tested without
/// waiting for them.
public protocol LoopClock: Sendable {
    /// Monotonic nanoseconds.
    func monotonicNanos() -> UInt64
}

/// The system's monotonic clock.
public struct SystemClock: LoopClock {
    public init() {}
    public func monotonicNanos() -> UInt64 { Clock.monotonicNanos() }
}

/// A clock that moves only when told to, for tests. After `advance`, wake the
/// loop (`EventLoop.wake()`) so it looks at its timers again.
public final class ManualClock: LoopClock {
    private let nanos: Locked<UInt64>

    public init(startingAt start: UInt64 = 1_000_000_000) { nanos = Locked(start) }

    public func monotonicNanos() -> UInt64 { nanos.withLock { $0 } }

    public func advance(by delta: UInt64) { nanos.withLock { $0 &+= delta } }
}
