import Foundation
import Glibc
import XCTest

@testable import App
@testable import Server
import EventStream
import Reactor

/// `--access-log`: one line per finished request and per closed stream.
final class AccessLogTests: XCTestCase {
    private var folder = ""

    override func setUpWithError() throws {
        folder = NSTemporaryDirectory() + "sse-access-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    }

    override func tearDown() { try? FileManager.default.removeItem(atPath: folder) }

    private func lines(_ path: String) -> [String] {
        ((try? String(contentsOfFile: path, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }

    /// Waits (bounded) until the log has `count` lines.
    private func waitForLines(_ path: String, count: Int, timeout: Double = 5) -> [String] {
        let deadline = Date().addingTimeInterval(timeout)
        var found = lines(path)
        while found.count < count && Date() < deadline {
            usleep(5_000)
            found = lines(path)
        }
        return found
    }

    func testARequestAndAStreamEndedByShutdownInText() throws {
        let path = folder + "/access.log"
        let server = try TestServer(["--access-log", path])
        let reply = try HTTPClient.get(server.port, "/healthz?x=secret")
        XCTAssertEqual(reply.status, 200)
        let first = waitForLines(path, count: 1)
        XCTAssertEqual(first.count, 1)
        let fields = first[0].split(separator: " ").map(String.init)
        // TIME CLIENT METHOD PATH STATUS BYTES DURATION events=N end=REASON
        XCTAssertEqual(fields.count, 9, first[0])
        XCTAssertTrue(fields[0].hasSuffix("Z") && fields[0].contains("T"))
        XCTAssertTrue(fields[1].hasPrefix("127.0.0.1:"))
        XCTAssertEqual(Array(fields[2...4]), ["GET", "/healthz", "200"], "the query is left out (it may carry a token)")
        XCTAssertGreaterThan(Int(fields[5]) ?? 0, 0)
        XCTAssertTrue(fields[6].hasSuffix("s"))
        XCTAssertEqual(Array(fields[7...8]), ["events=0", "end=done"])

        let client = try server.connect()
        client.send("GET /events/news HTTP/1.1\r\nHost: x\r\n\r\n")
        XCTAssertTrue(client.read(untilContains: "retry:"))
        _ = try server.hub.publish([Event(data: "one"), Event(data: "two")], to: "news")
        XCTAssertTrue(client.read(untilContains: "data: two"))
        server.stop()
        let all = lines(path)
        XCTAssertEqual(all.count, 2, all.joined(separator: "\n"))
        XCTAssertTrue(all[1].contains(" GET /events/news 200 "), all[1])
        XCTAssertTrue(all[1].hasSuffix(" events=2 end=shutdown"), all[1])
    }

    func testASlowSubscriberIsLoggedAsSlowInJSON() throws {
        let path = folder + "/access.json"
        let server = try TestServer(["--access-log", path, "--log-format", "json", "--buffer", "4"])
        let client = try server.connect()
        var small: Int32 = 4096
        setsockopt(client.fd, SOL_SOCKET, SO_RCVBUF, &small, socklen_t(MemoryLayout<Int32>.size))
        client.send("GET /events/slow HTTP/1.1\r\nHost: x\r\n\r\n")
        XCTAssertTrue(client.read(untilContains: "retry:"))
        let payload = String(repeating: "x", count: 64 * 1024)
        let metrics = server.app.server.context.metrics
        let deadline = Date().addingTimeInterval(10)
        while metrics.droppedSubscribers.load(ordering: .relaxed) == 0 && Date() < deadline {
            _ = try server.hub.publish([Event(data: payload)], to: "slow")
            usleep(1_000)
        }
        XCTAssertEqual(metrics.droppedSubscribers.load(ordering: .relaxed), 1)
        let found = waitForLines(path, count: 1)
        XCTAssertEqual(found.count, 1)
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(found[0].utf8)) as? [String: Any])
        XCTAssertEqual(object["end"] as? String, "slow")
        XCTAssertEqual(object["path"] as? String, "/events/slow")
        XCTAssertEqual(object["method"] as? String, "GET")
        XCTAssertEqual(object["status"] as? Int, 200)
        XCTAssertTrue((object["client"] as? String)?.hasPrefix("127.0.0.1:") == true)
        XCTAssertNotNil(object["duration_ms"] as? Double)
        XCTAssertNotNil(object["events"] as? Int)
        XCTAssertGreaterThan(object["bytes"] as? Int ?? 0, 0)
        XCTAssertNotNil(object["time"] as? String)
        let report = try HTTPClient.get(server.port, "/metrics").body
        XCTAssertTrue(report.contains("\nsse_access_log_dropped_total 0\n"))
    }

    func testAFullQueueDropsAndCounts() throws {
        let log = try AccessLog(path: folder + "/unstarted.log", format: .text, capacity: 2)
        let record = AccessLog.Record(
            time: 0, client: "c", method: "GET", path: "/", status: 200, bytes: 1, durationNanos: 1_500_000_000, events: 0, reason: .done)
        for _ in 0..<5 { log.record(record) }
        XCTAssertEqual(log.dropped.load(ordering: .relaxed), 3)
        XCTAssertEqual(log.line(record), "1970-01-01T00:00:00.000Z c GET / 200 1 1.500s events=0 end=done")
    }
}
