import EventStream
import Foundation
import Glibc
import Reactor
import XCTest

@testable import Server

/// Delivery as the loops do it: subscribers on different loops, and a stream of
/// several channels written in pieces to a reader that takes little at a time.
final class DeliveryTests: XCTestCase {
    /// Opens a stream while every loop but `loop` is held, so `loop` accepts and serves it.
    private func subscribe(_ server: TestServer, _ path: String, on loop: Int) throws -> RawClient {
        let loops = server.app.server.loops
        let blockers = loops.indices.filter { $0 != loop }.compactMap { LoopBlocker(loops[$0].loop) }
        XCTAssertEqual(blockers.count, loops.count - 1, "the other loops are held")
        defer { blockers.forEach { $0.release() } }
        let client = try server.connect()
        client.send("GET \(path) HTTP/1.1\r\nHost: x\r\n\r\n")
        XCTAssertTrue(client.read(untilContains: "retry:"), "served while the other loops are held")
        return client
    }

    private func streamed(_ client: RawClient) -> [ParsedEvent] {
        EventStreamText.events(EventStreamText.dechunk(HTTPClient.parse(client.text).body))
    }

    func testSubscribersOnTwoLoopsEachGetEveryEventInOrder() throws {
        let server = try TestServer(["--threads", "2"])
        let loops = server.app.server.loops
        XCTAssertEqual(loops.count, 2)
        let first = try subscribe(server, "/events/both", on: 0)
        let second = try subscribe(server, "/events/both", on: 1)
        XCTAssertEqual(onLoop(loops[0]) { $0.connections.count }, 1)
        XCTAssertEqual(onLoop(loops[1]) { $0.connections.count }, 1)

        // Published through loop 1 while loop 0 is held: loop 1's subscriber
        // gets it without waiting for loop 0, and loop 0's once it runs again.
        let held = try XCTUnwrap(LoopBlocker(loops[0].loop))
        let body = (0..<50).map { "e\($0)\n" }.joined()
        XCTAssertEqual(try HTTPClient.post(server.port, "/events/both?format=line", body: body).status, 200)
        XCTAssertTrue(second.read(untilContains: "data: e49\n"))
        held.release()
        XCTAssertTrue(first.read(untilContains: "data: e49\n"))

        // And the other way round, published through loop 0.
        let held1 = try XCTUnwrap(LoopBlocker(loops[1].loop))
        XCTAssertEqual(try HTTPClient.post(server.port, "/events/both", body: "last").status, 200)
        XCTAssertTrue(first.read(untilContains: "data: last\n"))
        held1.release()
        XCTAssertTrue(second.read(untilContains: "data: last\n"))

        let expected = (0..<50).map { "e\($0)" } + ["last"]
        let a = streamed(first)
        let b = streamed(second)
        XCTAssertEqual(a.map(\.data), expected)
        XCTAssertEqual(b.map(\.data), expected)
        XCTAssertEqual(a.map(\.id), b.map(\.id), "the same ids on both loops")
        let ids = a.compactMap { $0.id.flatMap { EventID(parsing: $0) } }
        XCTAssertEqual(ids.count, expected.count)
        XCTAssertEqual(ids, ids.sorted())
        XCTAssertEqual(Set(ids).count, ids.count)
    }

    func testASlowReaderOfSeveralChannelsGetsEveryEventIntactAndInIdOrder() throws {
        let server = try TestServer(["--buffer", "2000", "--max-body", "100000"])
        let channels = ["a", "b", "c"]
        let count = 1500
        // Sizes that do not line up with any buffer, ~2 MB in all: far more than
        // the socket holds, so writes stop part way through events.
        func data(_ n: Int) -> String {
            "\(channels[n % 3]) \(n) " + String(repeating: Character(UnicodeScalar(UInt8(97 + n % 26))), count: (n * 7919) % 2900 + 1)
        }

        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var small: Int32 = 2048
        // Before connecting, so the window offered to the server stays small.
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, socklen_t(MemoryLayout<Int32>.size))
        var timeout = timeval(tv_sec: 0, tv_usec: 100_000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(server.port).bigEndian
        inet_pton(AF_INET, "127.0.0.1", &address.sin_addr)
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        XCTAssertEqual(rc, 0)
        let request = "GET /events?channel=a&channel=b&channel=c HTTP/1.1\r\nHost: x\r\n\r\n"
        _ = request.withCString { send(fd, $0, strlen($0), Int32(MSG_NOSIGNAL)) }

        var received: [UInt8] = []
        var piece = [UInt8](repeating: 0, count: 1500)
        /// Reads a little at a time until `marker` has arrived (or 20 s).
        func read(until marker: String) -> Bool {
            let needle = Array(marker.utf8)
            let deadline = Date().addingTimeInterval(20)
            var searchedTo = 0
            while Date() < deadline {
                if received.count >= needle.count {
                    let from = max(0, searchedTo - needle.count)
                    if received[from...].firstRange(of: needle) != nil { return true }
                    searchedTo = received.count
                }
                let n = piece.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
                if n == 0 { return false }
                if n > 0 { received += piece[0..<n] }
            }
            return false
        }
        XCTAssertTrue(read(until: "retry:"))

        let upload = (0..<count).map { "{\"channel\":\"\(channels[$0 % 3])\",\"data\":\"\(data($0))\"}\n" }.joined()
        let reply = try HTTPClient.post(server.port, "/events/a?format=json", body: upload)
        XCTAssertEqual(reply.status, 200)
        XCTAssertTrue(read(until: "data: \(data(count - 1))\n\n"), "got \(received.count) bytes")

        let events = EventStreamText.events(EventStreamText.dechunk(HTTPClient.parse(String(decoding: received, as: UTF8.self)).body))
        XCTAssertEqual(events.count, count)
        XCTAssertTrue(events.map(\.data) == (0..<count).map(data), "every event whole, in publish order")
        let ids = events.compactMap { $0.id.flatMap { EventID(parsing: $0) } }
        XCTAssertEqual(ids.count, count)
        XCTAssertTrue(zip(ids, ids.dropFirst()).allSatisfy { $0 < $1 }, "ids strictly increasing across channels")
    }
}
