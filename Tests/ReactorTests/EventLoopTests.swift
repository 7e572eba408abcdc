import Dispatch
import Foundation
import Glibc
import XCTest

@testable import Reactor

final class EventLoopTests: XCTestCase {
    func testJobsFromOtherThreadsRunOnTheLoopAndWakeCallsOnWake() throws {
        let loop = try EventLoop()
        let done = DispatchSemaphore(value: 0)
        let woken = DispatchSemaphore(value: 0)
        loop.onWake = { woken.signal() }
        let thread = Thread { loop.run(); done.signal() }
        thread.start()
        let ran = DispatchSemaphore(value: 0)
        loop.execute {
            XCTAssertTrue(loop.inLoopThread)
            ran.signal()
        }
        XCTAssertEqual(ran.wait(timeout: .now() + 5), .success)
        loop.wake()
        XCTAssertEqual(woken.wait(timeout: .now() + 5), .success)
        loop.stop()
        XCTAssertEqual(done.wait(timeout: .now() + 5), .success)
    }

    func testListenerOnPortZeroGetsARealPortAndReadsReportWouldBlock() throws {
        let (fd, port) = try Socket.listen(host: "127.0.0.1", port: 0)
        defer { Socket.close(fd) }
        XCTAssertGreaterThan(port, 0)
        XCTAssertEqual(Socket.accept(fd), .wouldBlock)
        XCTAssertThrowsError(try Socket.listen(host: "not-an-address", port: 0))
    }
}
