import Dispatch
import Foundation
import Reactor

@testable import Server

/// Holds an event loop's thread in a job until released, so that the other
/// loops alone accept and serve: which loop takes a connection is then known,
/// not left to EPOLLEXCLUSIVE's choice.
final class LoopBlocker {
    private let entered = DispatchSemaphore(value: 0)
    private let gate = DispatchSemaphore(value: 0)
    private var released = false

    /// Asks `loop` to block; returns once it does (nil if it did not within 5 s).
    init?(_ loop: EventLoop) {
        loop.execute { [entered, gate] in
            entered.signal()
            gate.wait()
        }
        guard entered.wait(timeout: .now() + 5) == .success else {
            gate.signal()
            return nil
        }
    }

    func release() {
        guard !released else { return }
        released = true
        gate.signal()
    }

    deinit { release() }
}

/// Runs `body` on `context`'s loop and returns its result (nil after 5 s),
/// for reading loop-owned state from a test without a race.
func onLoop<T>(_ context: LoopContext, _ body: @escaping @Sendable (LoopContext) -> T) -> T? {
    let box = LoopResult<T>()
    context.loop.execute { [context] in
        box.value = body(context)
        box.done.signal()
    }
    guard box.done.wait(timeout: .now() + 5) == .success else { return nil }
    return box.value
}

/// A value handed back from a loop's thread to the waiting test.
private final class LoopResult<T>: @unchecked Sendable {
    var value: T?
    let done = DispatchSemaphore(value: 0)
}

/// CPU time (user + system) this process has used, in seconds: the server
/// under test runs in-process, so this bounds what it spent.
func processCPUSeconds() -> Double {
    var usage = rusage()
    getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
    return Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6 + Double(usage.ru_stime.tv_sec)
        + Double(usage.ru_stime.tv_usec) / 1e6
}
