import Foundation
import Glibc
import Reactor
import XCTest

@testable import App
@testable import Server

/// Out of descriptors, with no reserve to free: the listener is taken off the
/// loop and put back by a timer, instead of waking the loop again at once.
final class AcceptPauseTests: XCTestCase {
    /// Counts accepts; while `exhausted`, fails them as a process out of descriptors does.
    final class FailingAccept: @unchecked Sendable {
        private let lock = Lock()
        private var _exhausted = true
        private var _attempts = 0
        var exhausted: Bool {
            get { lock.withLock { _exhausted } }
            set { lock.withLock { _exhausted = newValue } }
        }
        var attempts: Int { lock.withLock { _attempts } }

        func accept(_ listener: Int32) -> IOResult {
            let fail = lock.withLock { () -> Bool in
                _attempts += 1
                return _exhausted
            }
            return fail ? .failed(EMFILE) : Socket.accept(listener)
        }
    }

    func testAcceptPausesWhileDescriptorsRunOutAndResumesAfter() throws {
        // The loops run on a clock that moves only when told: the pause's
        // timer cannot fire by itself, so "no retries meanwhile" is exact.
        let options = try App.CommandLineOptions.parse(["--port", "0", "--threads", "1"])
        let clock = ManualClock()
        let server = Server(configuration: options.server, logger: .silent, clock: clock)
        try server.start()
        defer { server.shutdown(grace: 0.5) }
        let context = try XCTUnwrap(server.loops.first)
        let accept = FailingAccept()
        XCTAssertEqual(onLoop(context) { [accept] context in
            context.acceptConnection = accept.accept
            return true
        }, true)

        let client = try RawClient(port: server.port)
        client.send("GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        // The reserve descriptor also "fails" (accept is still refused), so it pauses.
        let deadline = Date().addingTimeInterval(5)
        while Date() < deadline && onLoop(context, { $0.acceptPaused }) != true {}
        XCTAssertEqual(onLoop(context) { $0.acceptPaused }, true, "the listener is off the loop")

        // A spinning loop would try again on every pass; a paused one only
        // when its timer fires. Make the loop pass many times with the clock still.
        let before = accept.attempts
        for _ in 0..<50 { _ = onLoop(context) { _ in true } }
        XCTAssertEqual(accept.attempts, before, "accept was tried while paused")

        accept.exhausted = false
        clock.advance(by: 2_000_000_000)
        context.loop.wake()
        XCTAssertTrue(client.read(untilContains: "ok\n"), "the waiting connection is served once descriptors are back")
        XCTAssertEqual(onLoop(context) { $0.acceptPaused }, false)
        XCTAssertEqual(try HTTPClient.get(server.port, "/healthz").body, "ok\n")
    }
}
