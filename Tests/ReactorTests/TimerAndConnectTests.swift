import Dispatch
import Foundation
import Glibc
import XCTest

@testable import Reactor

/// Runs a loop on its own thread for the length of a test.
final class RunningLoop {
    let loop: EventLoop
    private let done = DispatchSemaphore(value: 0)

    init(clock: any LoopClock = SystemClock()) throws {
        loop = try EventLoop(clock: clock)
        let loop = self.loop
        let done = self.done
        Thread { loop.run(); done.signal() }.start()
    }

    /// Runs `body` on the loop and waits for it (at most 5 s).
    func sync<T>(_ body: @escaping () -> T) -> T? {
        let box = Box<T>()
        let ran = DispatchSemaphore(value: 0)
        nonisolated(unsafe) let body = body
        loop.execute {
            box.value = body()
            ran.signal()
        }
        guard ran.wait(timeout: .now() + 5) == .success else { return nil }
        return box.value
    }

    func stop() {
        loop.stop()
        _ = done.wait(timeout: .now() + 5)
    }

    final class Box<T>: @unchecked Sendable { var value: T? }
}

final class TimerHeapTests: XCTestCase {
    func testTimersRunInDeadlineOrderAndCancelledOnesNever() {
        var heap = TimerHeap()
        var ran: [Int] = []
        _ = heap.schedule(at: 30) { ran.append(3) }
        let cancelled = heap.schedule(at: 10) { ran.append(99) }
        _ = heap.schedule(at: 20) { ran.append(2) }
        _ = heap.schedule(at: 5) { ran.append(1) }
        heap.cancel(cancelled)
        XCTAssertEqual(heap.count, 3)
        for body in heap.popDue(now: 25) { body() }
        XCTAssertEqual(ran, [1, 2])
        XCTAssertEqual(heap.nextDeadline, 30)
        for body in heap.popDue(now: 100) { body() }
        XCTAssertEqual(ran, [1, 2, 3])
        XCTAssertTrue(heap.isEmpty)
        heap.cancel(cancelled)
        XCTAssertTrue(heap.isEmpty)
    }

    func testEqualDeadlinesRunInTheOrderScheduled() {
        var heap = TimerHeap()
        var ran: [Int] = []
        for i in 0..<100 { _ = heap.schedule(at: UInt64(i % 3)) { ran.append(i) } }
        for body in heap.popDue(now: 10) { body() }
        let expected = (0..<100).filter { $0 % 3 == 0 } + (0..<100).filter { $0 % 3 == 1 } + (0..<100).filter { $0 % 3 == 2 }
        XCTAssertEqual(ran, expected)
    }
}

final class LoopTimerTests: XCTestCase {
    func testATimerRunsOnlyWhenTheInjectedClockPassesItsDeadline() throws {
        let clock = ManualClock()
        let running = try RunningLoop(clock: clock)
        defer { running.stop() }
        let fired = DispatchSemaphore(value: 0)
        let handle = running.sync { running.loop.schedule(after: 60_000_000_000) { fired.signal() } }
        XCTAssertNotNil(handle)
        clock.advance(by: 59_000_000_000)
        running.loop.wake()
        XCTAssertEqual(running.sync { running.loop.scheduledTimers }, 1)
        XCTAssertEqual(fired.wait(timeout: .now() + 0.05), .timedOut)
        clock.advance(by: 1_000_000_000)
        running.loop.wake()
        XCTAssertEqual(fired.wait(timeout: .now() + 5), .success)
        XCTAssertEqual(running.sync { running.loop.scheduledTimers }, 0)
    }

    func testACancelledTimerNeverRuns() throws {
        let clock = ManualClock()
        let running = try RunningLoop(clock: clock)
        defer { running.stop() }
        let fired = DispatchSemaphore(value: 0)
        _ = running.sync {
            let handle = running.loop.schedule(after: 1000) { fired.signal() }
            running.loop.cancel(handle)
        }
        clock.advance(by: 10_000)
        running.loop.wake()
        XCTAssertEqual(running.sync { running.loop.scheduledTimers }, 0)
        XCTAssertEqual(fired.wait(timeout: .now() + 0.05), .timedOut)
    }

    func testARealTimerWakesASleepingLoop() throws {
        let running = try RunningLoop()
        defer { running.stop() }
        let fired = DispatchSemaphore(value: 0)
        _ = running.sync { running.loop.schedule(after: 20_000_000) { fired.signal() } }
        XCTAssertEqual(fired.wait(timeout: .now() + 5), .success)
    }
}

final class ConnectorTests: XCTestCase {
    /// Connects on the loop and waits (at most 5 s) for the outcome; nil if none came.
    private func connect(to address: SocketAddress, on running: RunningLoop, timeoutNanos: UInt64) -> Result<Int32, SystemError>? {
        let result = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var outcome: Result<Int32, SystemError>?
        _ = running.sync {
            Connector.connect(to: address, on: running.loop, timeoutNanos: timeoutNanos) {
                outcome = $0
                result.signal()
            }
        }
        XCTAssertEqual(result.wait(timeout: .now() + 5), .success)
        return outcome
    }

    func testConnectsToALoopbackListenerWithoutBlocking() throws {
        let (listener, port) = try Socket.listen(host: "127.0.0.1", port: 0)
        defer { Socket.close(listener) }
        let running = try RunningLoop()
        defer { running.stop() }
        let address = try SocketAddress.resolve(host: "127.0.0.1", port: port)
        let outcome = connect(to: address, on: running, timeoutNanos: 5_000_000_000)
        let fd = try XCTUnwrap(try? outcome?.get())
        XCTAssertEqual(fcntl(fd, F_GETFL) & O_NONBLOCK, O_NONBLOCK)
        Socket.close(fd)
    }

    func testARefusedConnectionIsAnErrorNamingTheAddress() throws {
        let (listener, port) = try Socket.listen(host: "127.0.0.1", port: 0)
        Socket.close(listener)
        let running = try RunningLoop()
        defer { running.stop() }
        let address = try SocketAddress.resolve(host: "127.0.0.1", port: port)
        let outcome = connect(to: address, on: running, timeoutNanos: 5_000_000_000)
        guard case .failure(let error) = outcome else { return XCTFail("connected to a closed port") }
        XCTAssertEqual(error.errno, ECONNREFUSED)
        XCTAssertTrue(error.description.contains("127.0.0.1:\(port)"), error.description)
    }

    func testAConnectThatHangsTimesOut() throws {
        // A listener with a full backlog leaves further SYNs unanswered.
        let (listener, port) = try Socket.listen(host: "127.0.0.1", port: 0, backlog: 0)
        defer { Socket.close(listener) }
        var fillers: [Int32] = []
        defer { fillers.forEach { Socket.close($0) } }
        let address = try SocketAddress.resolve(host: "127.0.0.1", port: port)
        let running = try RunningLoop()
        defer { running.stop() }
        var timedOut = false
        for _ in 0..<64 where !timedOut {
            let outcome = connect(to: address, on: running, timeoutNanos: 100_000_000)
            switch outcome {
            case .success(let fd): fillers.append(fd)
            case .failure(let error):
                XCTAssertEqual(error.errno, ETIMEDOUT, error.description)
                timedOut = true
            case nil: XCTFail("no outcome")
            }
        }
        XCTAssertTrue(timedOut, "64 connections were all accepted into a backlog of 0")
    }

    func testUnixSocketPathsThatDoNotFitAreRefused() {
        XCTAssertThrowsError(try SocketAddress.unix(path: String(repeating: "x", count: 200)))
        XCTAssertNoThrow(try SocketAddress.unix(path: "/tmp/redis.sock"))
    }
}
