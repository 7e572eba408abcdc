import Foundation
import XCTest

@testable import EventStream
@testable import Server
@testable import App

/// The rest of the HTTP surface: info endpoints, static files, CORS, tokens, errors, keep-alive.
final class HTTPSurfaceTests: XCTestCase {
    func testHealthChannelsAndMetrics() throws {
        let server = try TestServer()
        XCTAssertEqual(try HTTPClient.get(server.port, "/healthz").body, "ok\n")
        try server.hub.publish([Event(data: "x"), Event(data: "y")], to: "info")
        let channels = try HTTPClient.get(server.port, "/channels")
        XCTAssertEqual(channels.headers["content-type"], "application/json")
        let list = try JSONSerialization.jsonObject(with: Data(channels.body.utf8)) as? [[String: Any]]
        XCTAssertEqual(list?.first?["name"] as? String, "info")
        XCTAssertEqual(list?.first?["buffered"] as? Int, 2)
        XCTAssertEqual(list?.first?["subscribers"] as? Int, 0)
        XCTAssertNotNil(list?.first?["lastId"] as? String)
        let metrics = try HTTPClient.get(server.port, "/metrics").body
        let samples = metrics.split(separator: "\n").filter { !$0.hasPrefix("#") }
        for name in ["sse_connections", "sse_subscribers", "sse_events_published_total", "sse_events_delivered_total", "sse_subscribers_dropped_total"] {
            // A sample, not only its # TYPE line: `name value` or `name{labels} value`.
            XCTAssertTrue(samples.contains { $0.hasPrefix("\(name) ") || $0.hasPrefix("\(name){") }, name)
        }
        XCTAssertTrue(metrics.contains("sse_events_published_total{channel=\"info\"} 2"))
    }

    func testBadInputAnswers() throws {
        let server = try TestServer(["--max-body", "10"])
        XCTAssertEqual(try HTTPClient.get(server.port, "/events/bad%20name").status, 400)
        XCTAssertEqual(try HTTPClient.get(server.port, "/events/a%0Ab").status, 400)
        XCTAssertEqual(try HTTPClient.get(server.port, "/events").status, 400)
        XCTAssertEqual(try HTTPClient.post(server.port, "/events/a?event=x%0Ay", body: "data").status, 400)
        XCTAssertEqual(try HTTPClient.post(server.port, "/events/a", body: String(repeating: "x", count: 11)).status, 413)
        let method = try HTTPClient.exchange(server.port, "DELETE /events/a HTTP/1.1\r\nConnection: close\r\n\r\n")
        XCTAssertEqual(method.status, 405)
        XCTAssertEqual(method.headers["allow"], "GET, HEAD, POST, PUT, OPTIONS")
        XCTAssertEqual(try HTTPClient.exchange(server.port, "BREW /healthz HTTP/1.1\r\n\r\n").status, 405)
        XCTAssertEqual(try HTTPClient.get(server.port, "/no-such-file").status, 404)
        let garbage = try server.connect()
        garbage.send("GARBAGE\r\n\r\n")
        garbage.readToEnd()
        XCTAssertTrue(garbage.text.hasPrefix("HTTP/1.1 400 "))
        XCTAssertTrue(garbage.closedByPeer)
        let huge = try server.connect()
        huge.send("GET / HTTP/1.1\r\nX: " + String(repeating: "a", count: 17_000) + "\r\n\r\n")
        huge.readToEnd()
        XCTAssertTrue(huge.text.hasPrefix("HTTP/1.1 431 "))
    }

    func testPublishTokenIsRequiredWhenSet() throws {
        let server = try TestServer(["--publish-token", "s3cret"])
        XCTAssertEqual(try HTTPClient.post(server.port, "/events/a", body: "x").status, 401)
        XCTAssertEqual(try HTTPClient.post(server.port, "/events/a", body: "x", headers: "Authorization: Bearer wrong\r\n").status, 401)
        XCTAssertEqual(try HTTPClient.post(server.port, "/events/a", body: "x", headers: "Authorization: Bearer s3cret\r\n").status, 200)
    }

    func testCORSForAnAllowedOriginAndPreflight() throws {
        let server = try TestServer(["--cors", "https://app.example"])
        let allowed = try HTTPClient.post(server.port, "/events/a", body: "x", headers: "Origin: https://app.example\r\n")
        XCTAssertEqual(allowed.headers["access-control-allow-origin"], "https://app.example")
        let other = try HTTPClient.post(server.port, "/events/a", body: "x", headers: "Origin: https://evil.example\r\n")
        XCTAssertNil(other.headers["access-control-allow-origin"])
        let preflight = try HTTPClient.exchange(server.port, "OPTIONS /events/a HTTP/1.1\r\nOrigin: https://app.example\r\nAccess-Control-Request-Method: POST\r\nConnection: close\r\n\r\n")
        XCTAssertEqual(preflight.status, 204)
        XCTAssertEqual(preflight.headers["access-control-allow-origin"], "https://app.example")
        XCTAssertNotNil(preflight.headers["access-control-allow-methods"])
    }

    func testKeepAliveServesSeveralRequestsOnOneConnectionInOrder() throws {
        let server = try TestServer()
        let client = try server.connect()
        client.send("GET /healthz HTTP/1.1\r\n\r\nPOST /events/k HTTP/1.1\r\nContent-Length: 3\r\n\r\nabcGET /channels HTTP/1.1\r\n\r\n")
        XCTAssertTrue(client.read(untilContains: "\"name\":\"k\""))
        let statuses = client.text.components(separatedBy: "HTTP/1.1 ").dropFirst().map { $0.prefix(3) }
        XCTAssertEqual(statuses, ["200", "200", "200"])
        XCTAssertFalse(client.closedByPeer)
    }

    func testStaticFilesWithTypesIndexConditionalRequestsGzipAndNoEscape() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("sse-static-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: root.appendingPathComponent("sub"), withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: root) }
        let page = "<!doctype html><title>t</title>" + String(repeating: "<p>hello</p>", count: 100)
        try page.write(to: root.appendingPathComponent("index.html"), atomically: true, encoding: .utf8)
        try "body{}".write(to: root.appendingPathComponent("sub/site.css"), atomically: true, encoding: .utf8)
        try "secret".write(to: root.deletingLastPathComponent().appendingPathComponent("sse-secret-\(getpid()).txt"), atomically: true, encoding: .utf8)
        let server = try TestServer(["--public", root.path])

        let index = try HTTPClient.get(server.port, "/")
        XCTAssertEqual(index.status, 200)
        XCTAssertEqual(index.headers["content-type"], "text/html; charset=utf-8")
        XCTAssertEqual(index.body, page)
        let etag = try XCTUnwrap(index.headers["etag"])
        XCTAssertEqual(try HTTPClient.get(server.port, "/", headers: "If-None-Match: \(etag)\r\n").status, 304)
        XCTAssertEqual(try HTTPClient.get(server.port, "/sub/site.css").headers["content-type"], "text/css; charset=utf-8")
        XCTAssertEqual(try HTTPClient.get(server.port, "/sub").status, 301)
        let zipped = try HTTPClient.get(server.port, "/index.html", headers: "Accept-Encoding: gzip\r\n")
        XCTAssertEqual(zipped.headers["content-encoding"], "gzip")
        for escape in ["/../sse-secret-\(getpid()).txt", "/%2e%2e/sse-secret-\(getpid()).txt", "/sub/..%2f..%2fsse-secret-\(getpid()).txt"] {
            let reply = try HTTPClient.get(server.port, escape)
            XCTAssertTrue([400, 404].contains(reply.status), "\(escape) -> \(reply.status)")
            XCTAssertFalse(reply.body.contains("secret"))
        }
        try? FileManager.default.removeItem(at: root.deletingLastPathComponent().appendingPathComponent("sse-secret-\(getpid()).txt"))
    }

    func testOverMaxClientsPlainClientsGet503AndEventSourceGetsARetryHint() throws {
        let server = try TestServer(["--max-clients", "2"])
        let a = try server.connect()
        let b = try server.connect()
        a.send("GET /events/m HTTP/1.1\r\n\r\n")
        b.send("GET /events/m HTTP/1.1\r\n\r\n")
        XCTAssertTrue(a.read(untilContains: "retry:"))
        XCTAssertTrue(b.read(untilContains: "retry:"))
        let refused = try HTTPClient.get(server.port, "/healthz")
        XCTAssertEqual(refused.status, 503)
        XCTAssertNotNil(refused.headers["retry-after"])
        let eventSource = try server.connect()
        eventSource.send("GET /events/m HTTP/1.1\r\nAccept: text/event-stream\r\n\r\n")
        eventSource.readToEnd()
        XCTAssertTrue(eventSource.text.hasPrefix("HTTP/1.1 200 "))
        XCTAssertTrue(eventSource.text.contains("retry: "))
        XCTAssertTrue(eventSource.closedByPeer)
    }

    func testCommandLineParsing() throws {
        let options = try CommandLineOptions.parse(["--port=0", "--buffer", "5", "--gzip", "--cors", "*", "ticker@t", "--source", "stdin@in"], environment: ["SSE_PUBLISH_TOKEN": "tok"])
        XCTAssertEqual(options.server.port, 0)
        XCTAssertEqual(options.server.bufferSize, 5)
        XCTAssertTrue(options.server.gzip)
        XCTAssertEqual(options.server.corsOrigin, "*")
        XCTAssertEqual(options.server.publishToken, "tok")
        XCTAssertEqual(options.sources.map(\.channel), ["t", "in"])
        XCTAssertThrowsError(try CommandLineOptions.parse(["--port", "99999"]))
        XCTAssertThrowsError(try CommandLineOptions.parse(["--nope"]))
        XCTAssertThrowsError(try CommandLineOptions.parse(["--format", "xml"]))
        XCTAssertThrowsError(try CommandLineOptions.parse(["bogus:thing"]))
        XCTAssertGreaterThan(ServerConfiguration.defaultMaxClients(), 16)
    }
}
