import EventStream
import Foundation
import Glibc
import Reactor
import XCTest

@testable import App
@testable import Server

/// Clients that misbehave on purpose: each gets the right answer or a close,
/// a well-behaved subscriber on the same server keeps receiving every event,
/// and the server keeps no descriptor once the client is gone.
final class HostileClientTests: XCTestCase {
    // MARK: - slow and stalled clients

    func testSlowlorisHeadersAreClosedAfterTheHeaderTimeout() throws {
        let server = try TestServer(["--header-timeout", "1"])
        let good = try StreamClient(port: server.port, channel: "good")
        let baseline = Descriptors.count()
        do {
            let loris = try RawClient(port: server.port)
            let request = Array(
                "GET /events/loris HTTP/1.1\r\nHost: x\r\nX-Padding: \(String(repeating: "a", count: 200))\r\n"
                    .utf8)
            let started = Date()
            var sent = 0
            // One byte per read timeout (100 ms, at least): the head would take
            // over 20 s to arrive, so within the deadline it is never complete.
            while !loris.closedByPeer && Date().timeIntervalSince(started) < 15 {
                if sent < request.count {
                    loris.send([request[sent]])
                    sent += 1
                }
                loris.readOnce()
            }
            let elapsed = Date().timeIntervalSince(started)
            XCTAssertLessThan(sent, request.count, "the head never completed")
            XCTAssertTrue(loris.closedByPeer, "a trickled head is closed")
            // One-sided: a slow machine only makes it later. The server's clock
            // starts at accept, after `connect` returned, so never before this.
            XCTAssertGreaterThanOrEqual(elapsed, 0.9, "not before --header-timeout 1")
        }
        try assertUnaffected(good, server: server, baseline: baseline)
    }

    func testABodyThatNeverFinishesPublishesNothingAndLeavesNothingBehind() throws {
        let server = try TestServer()
        let good = try StreamClient(port: server.port, channel: "good")
        let baseline = Descriptors.count()
        do {
            let stalled = try RawClient(port: server.port)
            stalled.send(
                "POST /events/good HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nonly part of it")
            // The rest never comes; meanwhile everyone else is served.
            try assertUnaffected(good, server: server, baseline: nil)
            let chunked = try RawClient(port: server.port)
            chunked.send(
                "POST /events/good HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel")
            try assertUnaffected(good, server: server, baseline: nil)
            stalled.readOnce()
            chunked.readOnce()
            XCTAssertTrue(
                stalled.received.isEmpty && chunked.received.isEmpty, "no answer to half a request")
            // A client that gives up half way: the server closes its side too.
            stalled.shutdownWrite()
            stalled.readToEnd(timeout: 3)
            XCTAssertTrue(stalled.closedByPeer)
        }
        XCTAssertFalse(
            good.events.contains { $0.data.contains("hel") || $0.data.contains("only part") },
            "nothing of a cut body is published")
        try assertUnaffected(good, server: server, baseline: baseline)
    }

    func testASubscriberThatNeverReadsIsCutOffWhileAGoodOneGetsEveryEvent() throws {
        let server = try TestServer(["--buffer", "50"])
        let good = try StreamClient(port: server.port, channel: "big")
        let baseline = Descriptors.count()
        let slow = try StreamClient(port: server.port, channel: "big", receiveBuffer: 4096)
        let droppedBefore = try metric(server, "sse_subscribers_dropped_total")
        let payload = String(repeating: "x", count: 64 * 1024)
        var ids: [String] = []
        var cutOff = false
        // Each event is read by the good subscriber before the next is published,
        // so only the one that does not read can fall behind the 50-event buffer.
        for n in 0..<400 {
            ids += try server.hub.publish([Event(data: "\(n) \(payload)")], to: "big").map(\.description)
            XCTAssertTrue(
                good.pump(until: { $0.events.count == ids.count }, timeout: 5),
                "good subscriber has event \(n)")
            if n % 20 == 19, try metric(server, "sse_subscribers_dropped_total") > droppedBefore {
                cutOff = true
                break
            }
        }
        XCTAssertTrue(
            cutOff, "the subscriber that never reads was disconnected after \(ids.count) events of 64 KiB"
        )
        XCTAssertEqual(
            good.events.map(\.id), ids, "the good subscriber got every event, in order, once")
        // The cut is a reset: what the server had queued is thrown away, not delivered.
        XCTAssertTrue(slow.pump(until: { $0.wasReset || $0.closed }, timeout: 10))
        XCTAssertTrue(slow.wasReset, "disconnected with a reset")
        XCTAssertLessThan(slow.events.count, ids.count)
        slow.close()
        try assertUnaffected(good, server: server, baseline: baseline)
    }

    // MARK: - many connections

    func testHundredsOfConnectionsThatCloseAtOnceLeaveNothingBehind() throws {
        let server = try TestServer()
        let good = try StreamClient(port: server.port, channel: "good")
        let baseline = Descriptors.count()
        do {
            var clients: [RawClient] = []
            for n in 0..<300 {
                let client = try RawClient(port: server.port)
                switch n % 4 {
                case 0: break  // connects and says nothing
                case 1: client.send("GET /events/crowd HTTP/1.1\r\nHost: x\r\n\r\n")  // a stream
                case 2: client.send("GET /heal")  // half a request line
                default:
                    // Closes with a reset rather than a FIN.
                    var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
                    setsockopt(
                        client.fd, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size))
                    client.send("POST /events/crowd HTTP/1.1\r\nContent-Length: 5\r\n\r\nab")
                }
                clients.append(client)
            }
            XCTAssertTrue(
                poll(timeout: 5) { (try? metric(server, "sse_connections")) ?? 0 >= 300 },
                "all 300 accepted")
            clients.removeAll()  // every one closes here, at once
        }
        XCTAssertTrue(
            poll(timeout: 5) { (try? metric(server, "sse_connections")) == 2 },
            "only the good subscriber and the /metrics request remain")
        try assertUnaffected(good, server: server, baseline: baseline)
    }

    func testOverMaxClientsTheAnswerIs503OrARetryHintNotAnAcceptLoop() throws {
        let limit = ServerConfiguration.defaultMaxClients()
        var rlimit = Glibc.rlimit()
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &rlimit)
        XCTAssertLessThan(
            limit, Int(rlimit.rlim_cur),
            "the default keeps descriptors back for listeners, files and sources")
        XCTAssertGreaterThanOrEqual(
            limit, Int(rlimit.rlim_cur) - ServerConfiguration.reservedDescriptors)

        let server = try TestServer(["--max-clients", "5"])
        let good = try StreamClient(port: server.port, channel: "good")
        let baseline = Descriptors.count()
        do {
            let held = try (0..<4).map { _ in try RawClient(port: server.port) }
            XCTAssertTrue(
                poll(timeout: 5) {
                    server.app.server.context.metrics.connections.load(ordering: .relaxed) >= 5
                })
            let refused = try HTTPClient.get(server.port, "/healthz")
            XCTAssertEqual(refused.status, 503)
            XCTAssertNotNil(refused.headers["retry-after"])
            // EventSource would give up for good on a 503: a stream request gets a retry hint and a close.
            let stream = try RawClient(port: server.port)
            stream.send("GET /events/good HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n")
            stream.readToEnd()
            XCTAssertTrue(stream.closedByPeer)
            XCTAssertTrue(stream.text.hasPrefix("HTTP/1.1 200"), stream.text)
            let body = EventStreamText.dechunk(
                String(stream.text[stream.text.range(of: "\r\n\r\n")!.upperBound...]))
            let streamBody =
                body.isEmpty ? String(stream.text[stream.text.range(of: "\r\n\r\n")!.upperBound...]) : body
            XCTAssertTrue(streamBody.hasPrefix("retry: "), streamBody)
            XCTAssertFalse(
                streamBody.contains("id:") || streamBody.contains("data:"), "a retry hint only")
            XCTAssertGreaterThanOrEqual(
                server.app.server.context.metrics.rejectedConnections.load(ordering: .relaxed), 2)
            XCTAssertEqual(held.count, 4)
        }
        // Once the held connections are gone there is room again.
        XCTAssertTrue(poll(timeout: 5) { (try? HTTPClient.get(server.port, "/healthz").status) == 200 })
        try assertUnaffected(good, server: server, baseline: baseline)
    }

    // MARK: - the shape of requests

    func testAHalfClosedClientStillGetsItsAnswer() throws {
        let server = try TestServer()
        let good = try StreamClient(port: server.port, channel: "good")
        let baseline = Descriptors.count()
        do {
            let client = try RawClient(port: server.port)
            client.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            client.shutdownWrite()
            client.readToEnd()
            XCTAssertTrue(client.text.hasPrefix("HTTP/1.1 200"), client.text)
            XCTAssertTrue(client.text.hasSuffix("\r\n\r\nok\n"), client.text)
            XCTAssertTrue(client.closedByPeer)

            let publisher = try RawClient(port: server.port)
            publisher.send("POST /events/good HTTP/1.1\r\nHost: x\r\nContent-Length: 9\r\n\r\nhalf-shut")
            publisher.shutdownWrite()
            publisher.readToEnd()
            XCTAssertTrue(publisher.text.hasPrefix("HTTP/1.1 200"), publisher.text)
            XCTAssertTrue(good.pump(until: { $0.events.last?.data == "half-shut" }))
        }
        try assertUnaffected(good, server: server, baseline: baseline)
    }

    func testPipelinedGarbageAfterAGoodRequestGetsItsAnswerThenA400() throws {
        let server = try TestServer()
        let good = try StreamClient(port: server.port, channel: "good")
        let baseline = Descriptors.count()
        for garbage in [
            "\u{0}\u{1}\u{2}garbage\r\n\r\n", "GET /x HTTP/1.1\r\nBad Header\r\n\r\n",
            "GET  HTTP/1.1\r\n\r\n", "GET /x HTTP/9.9\r\n\r\n",
        ] {
            let client = try RawClient(port: server.port)
            client.send(
                "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n" + garbage + "GET /healthz HTTP/1.1\r\n\r\n")
            client.readToEnd()
            XCTAssertTrue(client.closedByPeer, "closed after \(garbage.debugDescription)")
            let statuses = Self.statusLines(client.text)
            XCTAssertEqual(statuses.count, 2, client.text)
            XCTAssertEqual(statuses.first, "HTTP/1.1 200 OK")
            XCTAssertTrue(
                statuses.last?.hasPrefix("HTTP/1.1 400") == true
                    || statuses.last?.hasPrefix("HTTP/1.1 505") == true, client.text)
        }
        try assertUnaffected(good, server: server, baseline: baseline)
    }

    func testPipelinedRequestsAreAnsweredInOrder() throws {
        let server = try TestServer()
        let good = try StreamClient(port: server.port, channel: "good")
        let baseline = Descriptors.count()
        do {
            let client = try RawClient(port: server.port)
            client.send(
                "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
                    + "POST /events/good HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nfirst"
                    + "GET /nothing-here HTTP/1.1\r\nHost: x\r\n\r\n"
                    + "PUT /events/good?event=second HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nsec\r\n3\r\nond\r\n0\r\n\r\n"
                    + "GET /channels HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            client.readToEnd()
            XCTAssertEqual(
                Self.statusLines(client.text),
                [
                    "HTTP/1.1 200 OK", "HTTP/1.1 200 OK", "HTTP/1.1 404 Not Found", "HTTP/1.1 200 OK",
                    "HTTP/1.1 200 OK",
                ], client.text)
            XCTAssertTrue(client.text.contains("\"name\":\"good\""), client.text)
            XCTAssertTrue(good.pump(until: { $0.events.count >= 2 }))
            XCTAssertEqual(good.events.suffix(2).map(\.data), ["first", "second"])
            XCTAssertEqual(good.events.last?.type, "second")
        }
        try assertUnaffected(good, server: server, baseline: baseline)
    }

    func testOversizedChunkSizesAndBodiesAreRefused() throws {
        let server = try TestServer(["--max-body", "1024"])
        let good = try StreamClient(port: server.port, channel: "good")
        let baseline = Descriptors.count()
        let cases: [(String, String, Int)] = [
            (
                "a chunk size over 64 bits",
                "POST /events/good HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1ffffffffffffffff\r\nx",
                400
            ),
            (
                "a chunk size that is not hex",
                "POST /events/good HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n-5\r\nhello\r\n", 400
            ),
            (
                "a chunk size line that never ends",
                "POST /events/good HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                    + String(repeating: "0", count: 2000), 400
            ),
            (
                "a huge chunk past --max-body",
                "POST /events/good HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffff\r\n"
                    + String(repeating: "y", count: 2000), 413
            ),
            (
                "chunks adding up past --max-body",
                "POST /events/good HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                    + String(repeating: "100\r\n" + String(repeating: "z", count: 256) + "\r\n", count: 5),
                413
            ),
            (
                "a Content-Length past --max-body",
                "POST /events/good HTTP/1.1\r\nContent-Length: 1025\r\n\r\n"
                    + String(repeating: "w", count: 1025), 413
            ),
            (
                "a body past --max-body on a path that takes none",
                "GET /healthz HTTP/1.1\r\nContent-Length: 5000\r\n\r\n"
                    + String(repeating: "v", count: 5000), 413
            ),
            (
                "a Content-Length over 64 bits",
                "POST /events/good HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n", 400
            ),
            (
                "a header section over 16 KiB",
                "GET /events/good HTTP/1.1\r\nX-Big: \(String(repeating: "h", count: 17 * 1024))\r\n\r\n",
                431
            ),
            (
                "a header section over 16 KiB that never ends",
                "GET /events/good HTTP/1.1\r\n" + String(repeating: "X-Many: 1\r\n", count: 2000), 431
            ),
            (
                "more than 100 header fields",
                "GET /healthz HTTP/1.1\r\n" + String(repeating: "X-A: 1\r\n", count: 150) + "\r\n", 431
            ),
        ]
        for (what, request, status) in cases {
            let client = try RawClient(port: server.port)
            client.send(request)
            client.readToEnd()
            XCTAssertTrue(client.closedByPeer, "\(what): closed")
            XCTAssertEqual(
                Self.statusLines(client.text).first.map { String($0.prefix(12)) }, "HTTP/1.1 \(status)",
                "\(what): \(client.text.prefix(200))")
        }
        XCTAssertFalse(
            good.events.contains {
                $0.data.contains("y") || $0.data.contains("z") || $0.data.contains("w")
            }, "nothing refused was published")
        try assertUnaffected(good, server: server, baseline: baseline)
    }

    // MARK: - what a request may say

    func testLineBreaksInAChannelNameOrEventTypeAre400AndForgeNothing() throws {
        let server = try TestServer()
        let good = try StreamClient(port: server.port, channel: "good")
        let baseline = Descriptors.count()
        let targets = [
            "POST /events/good?event=x%0Adata:%20forged",
            "POST /events/good?event=x%0D%0Aid:%2099999999999999-0",
            "POST /events/good?event=x%0Dretry:1",
            "POST /events/good?event=a%00b",
            "POST /events/good%0Aevent:forged",
            "POST /events/good%0D%0A%0D%0Adata:%20forged",
            "GET /events/good%0Adata:%20forged",
            "GET /events?channel=good%0Adata:forged",
            "GET /events?channel=good&channel=%0D",
            "POST /events/good?event=",
        ]
        for target in targets {
            let reply = try HTTPClient.exchange(
                server.port,
                "\(target) HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 6\r\n\r\nforged")
            XCTAssertEqual(reply.status, 400, target)
        }
        try assertUnaffected(good, server: server, baseline: baseline)
        XCTAssertFalse(
            good.events.contains { $0.data.contains("forged") || $0.type != "message" }, "\(good.events)")
        XCTAssertFalse(good.body.contains("forged"), "no forged bytes on the stream")
    }

    func testInvalidUTF8InDataIsReplacedAndTheStreamStaysIntact() throws {
        let server = try TestServer()
        let good = try StreamClient(port: server.port, channel: "good")
        let baseline = Descriptors.count()
        do {
            let body: [UInt8] = [
                0x66, 0xFF, 0xFE, 0x6F, 0x0A, 0xC3, 0x28, 0x0D, 0xE2, 0x82, 0x0A, 0x00, 0x21,
            ]
            let client = try RawClient(port: server.port)
            client.send(
                Array(
                    "POST /events/good HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: \(body.count + 1)\r\n\r\n"
                        .utf8) + body + [0x0A])
            client.readToEnd()
            XCTAssertTrue(client.text.hasPrefix("HTTP/1.1 200"), client.text)
            XCTAssertTrue(good.pump(until: { !$0.events.isEmpty }))
            XCTAssertEqual(good.events.last?.data, "f\u{FFFD}\u{FFFD}o\n\u{FFFD}(\n\u{FFFD}\n\u{0}!")
            // Streaming records too, with invalid UTF-8 at a read boundary.
            let streaming = try RawClient(port: server.port)
            streaming.send(
                Array(
                    "PUT /events/good?format=line HTTP/1.1\r\nHost: x\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n3\r\n"
                        .utf8) + [0x61, 0x62, 0xE2, 0x0D, 0x0A])
            streaming.send(
                [0x34, 0x0D, 0x0A, 0x82, 0x63, 0x0A, 0x64, 0x0D, 0x0A] + Array("0\r\n\r\n".utf8))
            streaming.readToEnd()
            XCTAssertTrue(streaming.text.hasPrefix("HTTP/1.1 200"), streaming.text)
            XCTAssertTrue(good.pump(until: { $0.events.count >= 3 }))
            XCTAssertEqual(good.events.suffix(2).map(\.data), ["ab\u{FFFD}c", "d"])
        }
        try assertUnaffected(good, server: server, baseline: baseline)
    }

    func testUnknownMethodsAre405WithAllow() throws {
        let server = try TestServer()
        let good = try StreamClient(port: server.port, channel: "good")
        let baseline = Descriptors.count()
        for (method, path) in [
            ("BREW", "/events/good"), ("DELETE", "/events/good"), ("PATCH", "/healthz"),
            ("POST", "/channels"), ("TRACE", "/"),
        ] {
            let reply = try HTTPClient.exchange(
                server.port, "\(method) \(path) HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            XCTAssertEqual(reply.status, 405, "\(method) \(path)")
            XCTAssertNotNil(reply.headers["allow"], "\(method) \(path) names what is allowed")
        }
        // With a body, which is not read: answered and closed.
        let reply = try HTTPClient.exchange(
            server.port,
            "BREW /events/good HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n"
                + String(repeating: "c", count: 5000))
        XCTAssertEqual(reply.status, 405)
        try assertUnaffected(good, server: server, baseline: baseline)
    }

    func testABadPublishTokenIs401AndPublishesNothing() throws {
        let server = try TestServer(["--publish-token", "s3cret"])
        let good = try StreamClient(port: server.port, channel: "good")
        let baseline = Descriptors.count()
        for authorization in [
            "", "Authorization: Bearer wrong\r\n", "Authorization: Basic czNjcmV0\r\n",
            "Authorization: Bearer s3cret2\r\n", "Authorization: Bearer\r\n",
        ] {
            let reply = try HTTPClient.post(
                server.port, "/events/good", body: "unauthorised", headers: authorization)
            XCTAssertEqual(reply.status, 401, authorization)
        }
        do {
            let streaming = try RawClient(port: server.port)
            streaming.send(
                "PUT /events/good?format=line HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nd\r\nunauthorised\n\r\n"
            )
            streaming.readToEnd()
            XCTAssertTrue(streaming.text.hasPrefix("HTTP/1.1 401"), streaming.text)
        }
        let ok = try HTTPClient.post(
            server.port, "/events/good", body: "authorised", headers: "Authorization: Bearer s3cret\r\n")
        XCTAssertEqual(ok.status, 200)
        XCTAssertTrue(good.pump(until: { $0.events.last?.data == "authorised" }))
        XCTAssertFalse(good.events.contains { $0.data == "unauthorised" })
        try assertUnaffected(good, server: server, baseline: baseline)
    }

    // MARK: - helpers

    /// The good subscriber still gets, exactly and in order, events published
    /// now; and (given a baseline) every descriptor opened since is closed again.
    private func assertUnaffected(
        _ good: StreamClient, server: TestServer, baseline: Int?, file: StaticString = #filePath,
        line: UInt = #line
    ) throws {
        let before = good.events.count
        var ids: [String] = []
        for n in 0..<3 {
            let reply = try HTTPClient.post(
                server.port, "/events/\(good.channel)", body: "check \(n)", headers: Self.token(server))
            XCTAssertEqual(reply.status, 200, reply.body, file: file, line: line)
            ids += Self.ids(reply.body)
        }
        XCTAssertTrue(
            good.pump(until: { $0.events.count >= before + 3 }), "good subscriber receives", file: file,
            line: line)
        XCTAssertEqual(
            good.events.dropFirst(before).map(\.id), ids, "exactly the events published", file: file,
            line: line)
        XCTAssertEqual(
            good.events.dropFirst(before).map(\.data), ["check 0", "check 1", "check 2"], file: file,
            line: line)
        XCTAssertFalse(
            good.closed, "the good subscriber's stream is still open", file: file, line: line)
        guard let baseline else { return }
        var now = Descriptors.count()
        let settled = poll(timeout: 5) {
            now = Descriptors.count()
            return now <= baseline
        }
        XCTAssertTrue(
            settled, "open descriptors: \(baseline) before, \(now) after: \(Descriptors.list())",
            file: file, line: line)
    }

    private static func token(_ server: TestServer) -> String {
        server.app.options.server.publishToken.map { "Authorization: Bearer \($0)\r\n" } ?? ""
    }

    private func metric(_ server: TestServer, _ name: String) throws -> Int {
        let text = try HTTPClient.get(server.port, "/metrics").body
        for line in text.split(separator: "\n") where line.hasPrefix(name + " ") {
            return Int(line.dropFirst(name.count + 1)) ?? -1
        }
        return -1
    }

    static func ids(_ json: String) -> [String] {
        guard let data = json.data(using: .utf8),
            let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
        else { return [] }
        return object["ids"] as? [String] ?? []
    }

    static func statusLines(_ text: String) -> [String] {
        // Bodies here end in LF without CR, so a status line may follow one.
        text.utf8.split(separator: 0x0A).map { String(decoding: $0.last == 0x0D ? $0.dropLast() : $0, as: UTF8.self) }.filter { $0.hasPrefix("HTTP/1.") }
    }
}

extension HostileClientTests {
    /// Polls `condition` every 10 ms until it holds or `timeout` seconds pass.
    func poll(timeout: Double, _ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if condition() { return true }
            usleep(10_000)
        }
        return condition()
    }

    /// This process's open descriptors (the server runs in-process, so its are among them).
    enum Descriptors {
        static func list() -> [String] {
            ((try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []).compactMap {
                name in
                guard
                    let target = try? FileManager.default.destinationOfSymbolicLink(
                        atPath: "/proc/self/fd/" + name)
                else { return nil }
                return "\(name)→\(target)"
            }
        }

        static func count() -> Int { list().count }
    }

    /// A subscriber that reads an event stream incrementally (head, chunks,
    /// events), fast enough for megabytes, and tells a reset from a close.
    final class StreamClient {
        let fd: Int32
        let channel: String
        private var raw: [UInt8] = []
        private var rawStart = 0
        private var headDone = false
        private var chunkRemaining: Int? = nil
        private var text: [UInt8] = []
        private(set) var body: String = ""
        private(set) var status = 0
        private(set) var events: [ParsedEvent] = []
        private(set) var sawRetry = false
        private(set) var ended = false
        private(set) var closed = false
        private(set) var wasReset = false
        private var descriptorOpen = true

        /// Connects (with a small receive buffer when asked, set before connecting
        /// so the window stays small) and waits for the stream's `retry:`.
        init(port: Int, channel: String, lastEventID: String? = nil, receiveBuffer: Int32? = nil) throws {
            self.channel = channel
            fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            if var size = receiveBuffer {
                setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
            }
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = UInt16(port).bigEndian
            inet_pton(AF_INET, "127.0.0.1", &address.sin_addr)
            let rc = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
            guard rc == 0 else {
                Glibc.close(fd)
                throw SystemError("connect")
            }
            var request = "GET /events/\(channel) HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n"
            if let lastEventID { request += "Last-Event-ID: \(lastEventID)\r\n" }
            request += "\r\n"
            _ = request.withCString { Glibc.send(fd, $0, strlen($0), Int32(MSG_NOSIGNAL)) }
            guard pump(until: { $0.sawRetry }) else {
                Glibc.close(fd)
                throw SystemError("no stream from /events/\(channel)", errno: EPROTO)
            }
        }

        deinit { close() }

        func close() {
            closed = true
            guard descriptorOpen else { return }
            descriptorOpen = false
            Glibc.close(fd)
        }

        /// Reads until `condition` holds, the stream ends, or `timeout` passes.
        @discardableResult
        func pump(until condition: (StreamClient) -> Bool, timeout: Double = 5) -> Bool {
            let deadline = Date().addingTimeInterval(timeout)
            var buffer = [UInt8](repeating: 0, count: 256 * 1024)
            while !condition(self) && !closed {
                let left = deadline.timeIntervalSinceNow
                if left <= 0 { break }
                var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
                guard Glibc.poll(&pfd, 1, Int32(min(left, 0.1) * 1000) + 1) > 0 else { continue }
                let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
                if n > 0 {
                    raw += buffer[0..<n]
                    parse()
                } else if n == 0 {
                    closed = true
                } else if errno != EINTR && errno != EAGAIN {
                    wasReset = errno == ECONNRESET
                    closed = true
                }
            }
            return condition(self)
        }

        private func parse() {
            if !headDone {
                guard let end = find([0x0D, 0x0A, 0x0D, 0x0A], in: raw, from: rawStart) else { return }
                let head = String(decoding: raw[rawStart..<end], as: UTF8.self)
                status = Int(head.split(separator: " ").dropFirst().first ?? "") ?? 0
                headDone = true
                rawStart = end + 4
            }
            while true {
                if let remaining = chunkRemaining {
                    guard raw.count - rawStart >= remaining + 2 else { break }
                    text += raw[rawStart..<(rawStart + remaining)]
                    rawStart += remaining + 2
                    chunkRemaining = nil
                } else {
                    guard let lineEnd = find([0x0D, 0x0A], in: raw, from: rawStart) else { break }
                    let size = Int(String(decoding: raw[rawStart..<lineEnd], as: UTF8.self), radix: 16) ?? 0
                    rawStart = lineEnd + 2
                    if size == 0 {
                        ended = true
                        break
                    }
                    chunkRemaining = size
                }
            }
            if rawStart > 1 << 20 {
                raw.removeFirst(rawStart)
                rawStart = 0
            }
            // Whole blocks of the event stream.
            var start = 0
            while let end = find([0x0A, 0x0A], in: text, from: start) {
                let block = String(decoding: text[start..<end], as: UTF8.self)
                if block.count < 4096 { body += block + "\n\n" }
                var id: String?
                var type = "message"
                var data: [String] = []
                for line in block.split(separator: "\n", omittingEmptySubsequences: false) {
                    if line.hasPrefix("retry:") { sawRetry = true }
                    if line.hasPrefix("id: ") { id = String(line.dropFirst(4)) }
                    if line.hasPrefix("event: ") { type = String(line.dropFirst(7)) }
                    if line.hasPrefix("data: ") {
                        data.append(String(line.dropFirst(6)))
                    } else if line == "data:" {
                        data.append("")
                    }
                }
                if !data.isEmpty {
                    events.append(ParsedEvent(id: id, type: type, data: data.joined(separator: "\n")))
                }
                start = end + 2
            }
            text.removeFirst(start)
        }

        private func find(_ needle: [UInt8], in haystack: [UInt8], from: Int) -> Int? {
            guard haystack.count >= needle.count else { return nil }
            var i = from
            while i <= haystack.count - needle.count {
                if haystack[i] == needle[0]
                    && (1..<needle.count).allSatisfy({ haystack[i + $0] == needle[$0] })
                {
                    return i
                }
                i += 1
            }
            return nil
        }
    }
}
