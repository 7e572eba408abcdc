import Foundation
import Glibc
import Reactor
import XCTest

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
        let server = try TestServer(["--threads", "1"])
        let context = try XCTUnwrap(server.app.server.loops.first)
        let accept = FailingAccept()
        XCTAssertEqual(onLoop(context) { [accept] context in
            context.acceptConnection = accept.accept
            return true
        }, true)

        let client = try server.connect()
        client.send("GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        // The reserve descriptor also "fails" (accept is still refused), so it pauses.
        let deadline = Date().addingTimeInterval(5)
        while Date() < deadline && onLoop(context, { $0.acceptPaused }) != true {}
        XCTAssertEqual(onLoop(context) { $0.acceptPaused }, true, "the listener is off the loop")

        // A spinning loop would try thousands of times in this half second; a
        // paused one tries again only when its timer (100 ms, then longer) fires.
        let before = accept.attempts
        Thread.sleep(forTimeInterval: 0.5)
        let during = accept.attempts - before
        XCTAssertLessThan(during, 30, "\(during) accept attempts in 0.5 s while out of descriptors")

        accept.exhausted = false
        XCTAssertTrue(client.read(untilContains: "ok\n"), "the waiting connection is served once descriptors are back")
        XCTAssertEqual(onLoop(context) { $0.acceptPaused }, false)
        XCTAssertEqual(try HTTPClient.get(server.port, "/healthz").body, "ok\n")
    }
}
