import CShim
import Foundation
import Glibc
import Reactor

/// The thread a source runs on, and the one-way "stop" signal it watches.
///
/// The signal is an eventfd that becomes readable on `requestStop` and stays
/// readable, so a source blocked in `poll` on its input also polls this fd and
/// wakes at once; sleeps between ticks or restarts are polls on it too.
final class SourceThread: @unchecked Sendable {
    private let condition = NSCondition()
    private var started = false
    private var finished = false
    private var stopRequested = false
    /// Readable once a stop has been requested.
    let stopFD: Int32

    init() {
        // Without an eventfd (descriptor limit) stops are noticed at the next poll timeout.
        stopFD = eventfd(0, Int32(EFD_CLOEXEC) | Int32(EFD_NONBLOCK))
    }

    deinit {
        if stopFD >= 0 { close(stopFD) }
    }

    /// Runs `body` on a new thread; false if the thread was already started.
    func start(name: String, _ body: @escaping @Sendable () -> Void) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        if started { return false }
        started = true
        let thread = Thread { [self] in
            body()
            condition.lock()
            finished = true
            condition.broadcast()
            condition.unlock()
        }
        thread.name = name
        thread.start()
        return true
    }

    func requestStop() {
        condition.lock()
        stopRequested = true
        condition.unlock()
        var one: UInt64 = 1
        _ = write(stopFD, &one, 8)
    }

    var isStopping: Bool {
        condition.lock()
        defer { condition.unlock() }
        return stopRequested
    }

    /// Sleeps up to `seconds`, less if a stop is requested; true when stopping.
    func sleep(seconds: Double) -> Bool {
        let deadline = Clock.monotonicNanos() + UInt64(max(seconds, 0) * 1e9)
        while !isStopping {
            let now = Clock.monotonicNanos()
            if now >= deadline { return false }
            var fds = [pollfd(fd: stopFD, events: Int16(POLLIN), revents: 0)]
            // Capped so that a missing eventfd still lets a stop through within 100 ms.
            let ms = Int32(min((deadline - now + 999_999) / 1_000_000, 100))
            _ = poll(&fds, 1, ms)
        }
        return true
    }

    /// True once the thread has ended, or if it never started.
    func waitFinished(timeout: Double) -> Bool {
        let deadline = Date(timeIntervalSinceNow: max(timeout, 0))
        condition.lock()
        defer { condition.unlock() }
        while started && !finished {
            if !condition.wait(until: deadline) { return finished }
        }
        return true
    }
}
