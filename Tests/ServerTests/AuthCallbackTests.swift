import Foundation
import Glibc
import XCTest

@testable import EventStream
@testable import Server

/// A small app in the test that answers the auth callback as each case needs,
/// and records what it was asked.
final class FakeAuthApp: @unchecked Sendable {
    typealias Answer = (_ headers: [String: String]) -> (bytes: String?, delay: Double)
    private let lock = NSLock()
    private var asked: [[String: String]] = []
    private var currentAnswer: Answer = { _ in ("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 0) }
    private var isRunning = true
    let port: Int
    private let listener: Int32

    /// What to answer: raw response bytes, or nothing (hang), after a delay.
    var answer: Answer {
        get { lock.withLock { currentAnswer } }
        set { lock.withLock { currentAnswer = newValue } }
    }
    private var running: Bool { lock.withLock { isRunning } }

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var on: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        listen(fd, 64)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        listener = fd
        port = Int(UInt16(bigEndian: address.sin_port))
        Thread { [self] in acceptLoop() }.start()
    }

    var url: String { "http://127.0.0.1:\(port)/auth" }
    var requests: [[String: String]] { lock.withLock { asked } }

    func stop() {
        lock.withLock { isRunning = false }
        Glibc.shutdown(listener, Int32(SHUT_RDWR))
        Glibc.close(listener)
    }

    private func acceptLoop() {
        while running {
            let fd = accept(listener, nil, nil)
            if fd < 0 { return }
            Thread { [self] in serve(fd) }.start()
        }
    }

    private func serve(_ fd: Int32) {
        defer { Glibc.close(fd) }
        var pending = ""
        var buffer = [UInt8](repeating: 0, count: 16384)
        while running {
            while let end = pending.range(of: "\r\n\r\n") {
                let head = String(pending[..<end.lowerBound])
                pending = String(pending[end.upperBound...])
                var headers: [String: String] = [:]
                for line in head.split(separator: "\r\n").dropFirst() {
                    if let colon = line.firstIndex(of: ":") {
                        headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
                    }
                }
                lock.withLock { asked.append(headers) }
                let (bytes, delay) = answer(headers)
                if delay > 0 { usleep(UInt32(delay * 1e6)) }
                guard let bytes else { return }
                _ = bytes.withCString { send(fd, $0, strlen($0), Int32(MSG_NOSIGNAL)) }
                if bytes.contains("Connection: close") || !bytes.contains("\r\n\r\n") { return }
            }
            let n = recv(fd, &buffer, buffer.count, 0)
            if n <= 0 { return }
            pending += String(decoding: buffer[0..<n], as: UTF8.self)
        }
    }
}

/// The auth callback (`--auth URL`) as the contract says.
final class AuthCallbackTests: XCTestCase {
    private var app: FakeAuthApp!

    override func setUpWithError() throws { app = try FakeAuthApp() }
    override func tearDown() { app.stop() }

    private func server(_ extra: [String] = []) throws -> TestServer {
        try TestServer(["--auth", app.url, "--auth-timeout", "500"] + extra)
    }

    private func stream(_ server: TestServer, _ path: String, headers: String = "") throws -> RawClient {
        let client = try server.connect()
        client.send("GET \(path) HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\(headers)\r\n")
        return client
    }

    func testTheAppIsAskedWithTheClientsCredentialsAndItsAllowWithAUserOpensTheStream() throws {
        app.answer = { _ in ("HTTP/1.1 200 OK\r\nSSE-User: ana\r\nSSE-User-Info: {\"name\":\"Ana\"}\r\nContent-Length: 0\r\n\r\n", 0) }
        let server = try server()
        let client = try stream(server, "/events/orders?token=t0k", headers: "Cookie: session=abc\r\nOrigin: http://site\r\nUser-Agent: test\r\nLast-Event-ID: 5-0\r\n")
        XCTAssertTrue(client.read(untilContains: "retry:"))
        let asked = try XCTUnwrap(app.requests.first)
        XCTAssertEqual(asked["cookie"], "session=abc")
        XCTAssertEqual(asked["origin"], "http://site")
        XCTAssertEqual(asked["user-agent"], "test")
        XCTAssertEqual(asked["x-forwarded-for"], "127.0.0.1")
        XCTAssertEqual(asked["sse-channels"], "orders")
        XCTAssertEqual(asked["sse-token"], "t0k")
        XCTAssertEqual(asked["sse-last-event-id"], "5-0")
        try server.hub.publish([Event(data: "x")], to: "orders")
        XCTAssertTrue(client.read(untilContains: "data: x\n"))
    }

    func testARefusalPassesTheAppsStatusBodyAndChallengeOn() throws {
        app.answer = { _ in ("HTTP/1.1 403 Forbidden\r\nWWW-Authenticate: Cookie realm=\"shop\"\r\nContent-Length: 13\r\n\r\nnot your shop", 0) }
        let server = try server()
        let reply = try HTTPClient.get(server.port, "/events/orders")
        XCTAssertEqual(reply.status, 403)
        XCTAssertEqual(reply.body, "not your shop")
        XCTAssertEqual(reply.headers["www-authenticate"], "Cookie realm=\"shop\"")
    }

    func testSSEChannelsNarrowsAndTheRestIs403NamingTheChannel() throws {
        app.answer = { _ in ("HTTP/1.1 200 OK\r\nSSE-Channels: a\r\nContent-Length: 0\r\n\r\n", 0) }
        let server = try server()
        let reply = try HTTPClient.get(server.port, "/events?channel=a&channel=b")
        XCTAssertEqual(reply.status, 403)
        XCTAssertTrue(reply.body.contains("'b'"), reply.body)
    }

    func testAnAppThatIsSlowDownOrSpeaksGarbageIsNeverTakenAsAllowed() throws {
        let cases: [(String, (bytes: String?, delay: Double))] = [
            ("slow", ("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 2.0)),
            ("closed mid-answer", ("HTTP/1.1 200 OK\r\nContent-Le", 0)),
            ("garbage", ("not http at all\r\n\r\n", 0)),
            ("500", ("HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n", 0)),
            ("info not JSON", ("HTTP/1.1 200 OK\r\nSSE-User-Info: {nope\r\nContent-Length: 0\r\n\r\n", 0)),
        ]
        for (name, answer) in cases {
            app.answer = { _ in answer }
            let server = try server()
            let eventSource = try stream(server, "/events/private")
            eventSource.readToEnd(timeout: 5)
            XCTAssertTrue(eventSource.text.hasPrefix("HTTP/1.1 200 OK"), "\(name): \(eventSource.text)")
            XCTAssertTrue(eventSource.text.contains("event: sse-error\ndata: {\"reason\":\"auth-unavailable\"}\n\n"), "\(name): \(eventSource.text)")
            XCTAssertTrue(eventSource.text.contains("retry:"), name)
            let other = try HTTPClient.get(server.port, "/events/private")
            XCTAssertEqual(other.status, 503, name)
            XCTAssertNotNil(other.headers["retry-after"], name)
        }
    }

    func testAnAppThatCannotBeReachedIsUnavailable() throws {
        let port = app.port
        app.stop()
        let server = try TestServer(["--auth", "http://127.0.0.1:\(port)/auth"])
        XCTAssertEqual(try HTTPClient.get(server.port, "/events/x").status, 503)
    }

    func testIdenticalRequestsInFlightAskOnceAndMaxAgeIsCached() throws {
        app.answer = { _ in ("HTTP/1.1 200 OK\r\nCache-Control: max-age=30\r\nContent-Length: 0\r\n\r\n", 0.3) }
        let server = try server(["--threads", "1"])
        let clients = try (0..<20).map { _ in try stream(server, "/events/storm", headers: "Cookie: s=1\r\n") }
        for client in clients { XCTAssertTrue(client.read(untilContains: "retry:")) }
        XCTAssertEqual(app.requests.count, 1)
        let later = try stream(server, "/events/storm", headers: "Cookie: s=1\r\n")
        XCTAssertTrue(later.read(untilContains: "retry:"))
        XCTAssertEqual(app.requests.count, 1, "a cached decision asks again")
        let other = try stream(server, "/events/storm", headers: "Cookie: s=2\r\n")
        XCTAssertTrue(other.read(untilContains: "retry:"))
        XCTAssertEqual(app.requests.count, 2)
        let metrics = try HTTPClient.get(server.port, "/metrics").body
        XCTAssertTrue(metrics.contains("sse_auth_decisions_total{result=\"cached\"} 1"), metrics)
        XCTAssertTrue(metrics.contains("sse_auth_callback_seconds_count 2"), metrics)
    }

    func testSSEExpiresInEndsTheStreamWithSSEReauth() throws {
        app.answer = { _ in ("HTTP/1.1 200 OK\r\nSSE-Expires-In: 1\r\nContent-Length: 0\r\n\r\n", 0) }
        let server = try server()
        let client = try stream(server, "/events/short")
        XCTAssertTrue(client.read(untilContains: "event: sse-reauth\n", timeout: 10))
        client.readToEnd()
        XCTAssertTrue(client.closedByPeer)
    }

    func testWhileTheAppThinksOtherConnectionsAreServed() throws {
        app.answer = { _ in ("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 1.0) }
        let server = try server(["--threads", "1", "--protect", "private"])
        let waiting = try stream(server, "/events/private")
        let started = Date()
        XCTAssertEqual(try HTTPClient.get(server.port, "/healthz").status, 200)
        XCTAssertLessThan(Date().timeIntervalSince(started), 0.9, "the loop waited for the app")
        XCTAssertTrue(waiting.read(untilContains: "retry:"))
    }
}
