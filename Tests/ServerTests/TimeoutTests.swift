import Foundation
import XCTest

@testable import App
@testable import Server
import EventStream
import Reactor

/// Every timeout, run on an injected clock: nothing here waits for real time
/// to pass, only for the loop to look at its clock again (at most a second).
final class TimeoutTests: XCTestCase {
    private var clock: ManualClock!
    private var server: Server!

    private func start(_ arguments: [String] = [], configure: (inout ServerConfiguration) -> Void = { _ in }) throws {
        var options = try CommandLineOptions.parse(["--port", "0", "--threads", "1"] + arguments)
        configure(&options.server)
        clock = ManualClock()
        server = Server(configuration: options.server, logger: .silent, clock: clock)
        try server.start()
    }

    override func tearDown() {
        server?.shutdown(grace: 0.5)
        server = nil
    }

    private func connect() throws -> RawClient { try RawClient(port: server.port) }

    /// Moves the clock on and waits until `client` sees the server close, or 5 s.
    private func closesAfter(advancing nanos: UInt64, _ client: RawClient) -> Bool {
        clock.advance(by: nanos)
        client.readToEnd(timeout: 5)
        return client.closedByPeer
    }

    func testAHeadThatStallsIsClosedAfterTheHeaderTimeoutAndNotBefore() throws {
        try start(["--header-timeout", "10"])
        let client = try connect()
        // The answer to a first request proves the server has read up to here.
        client.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        XCTAssertTrue(client.read(untilContains: "ok"))
        client.send("GET /healthz HTTP/1.1\r\nHost: x\r\n")
        clock.advance(by: 9_000_000_000)
        client.readToEnd(timeout: 1.5)
        XCTAssertFalse(client.closedByPeer, "closed before the header timeout")
        XCTAssertTrue(closesAfter(advancing: 2_000_000_000, client))
    }

    func testAnOrdinaryBodyThatStopsIsClosedAfterTheBodyTimeout() throws {
        try start(["--header-timeout", "100"]) { $0.bodyTimeoutSeconds = 5 }
        let client = try connect()
        // `100 Continue` proves the server has read the head.
        client.send("POST /events/b HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\nExpect: 100-continue\r\n\r\n")
        XCTAssertTrue(client.read(untilContains: "100 Continue"))
        clock.advance(by: 4_000_000_000)
        client.readToEnd(timeout: 1.5)
        XCTAssertFalse(client.closedByPeer, "closed before the body timeout")
        XCTAssertTrue(closesAfter(advancing: 2_000_000_000, client))
        XCTAssertEqual(server.hub.channelInfos().first(where: { $0.name == "b" })?.published ?? 0, 0)
    }

    func testAStreamingUploadIsNeverClosedForBeingIdle() throws {
        try start()
        let client = try connect()
        client.send("POST /events/up?format=line HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nfirst\n\r\n")
        XCTAssertTrue(waitUntil { self.server.hub.channelInfos().first(where: { $0.name == "up" })?.published == 1 })
        clock.advance(by: 3600_000_000_000)
        client.readToEnd(timeout: 1.5)
        XCTAssertFalse(client.closedByPeer)
        client.send("7\r\nsecond\n\r\n0\r\n\r\n")
        XCTAssertTrue(client.read(untilContains: "\"ids\""))
        XCTAssertEqual(server.hub.channelInfos().first(where: { $0.name == "up" })?.published, 2)
    }

    func testAnIdleStreamGetsAHeartbeatCommentAfterTheInterval() throws {
        try start(["--heartbeat", "15"])
        let client = try connect()
        client.send("GET /events/quiet HTTP/1.1\r\nHost: x\r\n\r\n")
        XCTAssertTrue(client.read(untilContains: "retry:"))
        clock.advance(by: 14_000_000_000)
        XCTAssertFalse(client.read(untilContains: ":\n\n", timeout: 1.5))
        clock.advance(by: 2_000_000_000)
        XCTAssertTrue(client.read(untilContains: ":\n\n", timeout: 5), client.text.debugDescription)
    }

    func testAnIdleKeepAliveConnectionIsClosedAfterTheHeaderTimeout() throws {
        try start(["--header-timeout", "10"])
        let client = try connect()
        client.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        XCTAssertTrue(client.read(untilContains: "ok"))
        XCTAssertTrue(closesAfter(advancing: 11_000_000_000, client))
    }

    private func waitUntil(timeout: Double = 5, _ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if condition() { return true }
            usleep(2000)
        }
        return condition()
    }
}
