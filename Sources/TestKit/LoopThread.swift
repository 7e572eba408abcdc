import Dispatch
import Foundation
import Reactor

/// An event loop running on a thread of its own, for tests: `sync` runs a
/// closure on the loop and waits (bounded) for its result.
public final class LoopThread: @unchecked Sendable {
    public let loop: EventLoop
    private let finished = DispatchSemaphore(value: 0)

    public init() throws {
        loop = try EventLoop()
        let loop = self.loop
        let finished = self.finished
        let thread = Thread {
            loop.run()
            finished.signal()
        }
        thread.start()
    }

    /// Runs `body` on the loop and returns its result; fails after `timeoutSeconds`.
    public func sync<T>(timeoutSeconds: Double = 10, _ body: @escaping () -> T) throws -> T {
        let done = DispatchSemaphore(value: 0)
        let box = Box<T>()
        // The closure runs on the loop while this thread waits: never on two threads at once.
        nonisolated(unsafe) let body = body
        loop.execute {
            box.value = body()
            done.signal()
        }
        guard done.wait(timeout: .now() + timeoutSeconds) == .success, let value = box.value else {
            throw TestKitError("the loop did not run a job within \(timeoutSeconds) s")
        }
        return value
    }

    /// Stops the loop and waits for its thread to end.
    public func stop() {
        loop.stop()
        _ = finished.wait(timeout: .now() + 10)
    }

    private final class Box<T>: @unchecked Sendable {
        var value: T?
    }
}

/// Values handed over from a loop (or any thread) to a test that waits for
/// them with a deadline, in the order they came.
public final class Inbox<T>: @unchecked Sendable {
    private let lock = NSCondition()
    private var items: [T] = []
    private var taken = 0

    public init() {}

    public func put(_ item: T) {
        lock.lock()
        items.append(item)
        lock.broadcast()
        lock.unlock()
    }

    /// Everything put so far.
    public var all: [T] {
        lock.lock()
        defer { lock.unlock() }
        return items
    }

    /// The next item not taken yet, waiting at most `timeoutSeconds`.
    public func next(timeoutSeconds: Double = 10) throws -> T {
        let deadline = Date().addingTimeInterval(timeoutSeconds)
        lock.lock()
        defer { lock.unlock() }
        while taken >= items.count {
            guard lock.wait(until: deadline) else { throw TestKitError("nothing arrived within \(timeoutSeconds) s") }
        }
        taken += 1
        return items[taken - 1]
    }

    /// Takes items until one satisfies `match`, waiting at most `timeoutSeconds` in all.
    @discardableResult
    public func next(timeoutSeconds: Double = 10, where match: (T) -> Bool) throws -> T {
        let deadline = Date().addingTimeInterval(timeoutSeconds)
        while true {
            let left = deadline.timeIntervalSinceNow
            guard left > 0 else { throw TestKitError("no matching item within \(timeoutSeconds) s; got \(all)") }
            let item = try next(timeoutSeconds: left)
            if match(item) { return item }
        }
    }
}
