import Auth
import Foundation
import XCTest

@testable import EventStream
@testable import Server

/// Protected channels with HS256 JWTs: who may subscribe and publish, what a
/// refusal says, expiry, and names kept private.
final class AccessControlTests: XCTestCase {
    static let key = "test-key-0123456789"
    let signer = JWTSigner(key: Array(AccessControlTests.key.utf8))
    var now: Int64 { Int64(Date().timeIntervalSince1970) }

    private func token(sub: String = "ana", exp: Int64? = nil, subscribe: [String] = ["orders/*"], publish: [String] = []) -> String {
        signer.sign(sub: sub, exp: exp ?? now + 600, subscribe: subscribe, publish: publish)
    }

    private func open(_ server: TestServer, _ path: String, headers: String = "") throws -> RawClient {
        let client = try server.connect()
        client.send("GET \(path) HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\(headers)\r\n")
        return client
    }

    func testAProtectedStreamNeedsAValidTokenFromHeaderCookieOrQuery() throws {
        let server = try TestServer(["--jwt-key", Self.key, "--protect", "orders/*"])
        XCTAssertEqual(try HTTPClient.get(server.port, "/events/orders/42").status, 401)
        let byHeader = try open(server, "/events/orders/42", headers: "Authorization: Bearer \(token())\r\n")
        XCTAssertTrue(byHeader.read(untilContains: "retry:"))
        let byCookie = try open(server, "/events/orders/42", headers: "Cookie: theme=dark; sse_token=\(token())\r\n")
        XCTAssertTrue(byCookie.read(untilContains: "retry:"))
        let byQuery = try open(server, "/events/orders/42?token=\(token())")
        XCTAssertTrue(byQuery.read(untilContains: "retry:"))
        try server.hub.publish([Event(data: "paid")], to: "orders/42")
        for client in [byHeader, byCookie, byQuery] { XCTAssertTrue(client.read(untilContains: "data: paid\n")) }
        // Public channels keep working as before.
        let open = try open(server, "/events/news")
        XCTAssertTrue(open.read(untilContains: "retry:"))
    }

    func testEveryBadTokenIs401WithABodyThatSaysWhich() throws {
        let server = try TestServer(["--jwt-key", Self.key])
        let header = Base64URL.encode(Array(#"{"alg":"none","typ":"JWT"}"#.utf8))
        let claims = Base64URL.encode(Array(#"{"sub":"x","exp":9999999999}"#.utf8))
        let cases: [(String, String)] = [
            (token(exp: now - 10), "expired"),
            (JWTSigner(key: Array("other".utf8)).sign(sub: "x", exp: now + 60), "signature"),
            ("\(header).\(claims).", "HS256"),
            (signer.sign(payload: #"{"sub":"x"}"#), "exp"),
            ("a.b.c", "token"),
            (String(repeating: "a", count: 9000), "longer"),
        ]
        for (bad, word) in cases {
            let reply = try HTTPClient.get(server.port, "/events/anything", headers: "Authorization: Bearer \(bad)\r\n")
            XCTAssertEqual(reply.status, 401, word)
            XCTAssertTrue(reply.body.contains(word), "\(word): \(reply.body)")
        }
    }

    func testATokenThatDoesNotCoverAChannelIs403NamingIt() throws {
        let server = try TestServer(["--jwt-key", Self.key])
        let reply = try HTTPClient.get(
            server.port, "/events?channel=orders/1&channel=admin", headers: "Authorization: Bearer \(token())\r\n")
        XCTAssertEqual(reply.status, 403)
        XCTAssertTrue(reply.body.contains("admin"), reply.body)
    }

    func testPublishingNeedsAJWTWhosePublishGlobsCoverTheChannel() throws {
        let server = try TestServer(["--jwt-key", Self.key])
        XCTAssertEqual(try HTTPClient.post(server.port, "/events/orders/1", body: "x").status, 401)
        let reader = token(publish: [])
        XCTAssertEqual(try HTTPClient.post(server.port, "/events/orders/1", body: "x", headers: "Authorization: Bearer \(reader)\r\n").status, 403)
        let writer = token(publish: ["orders/**"])
        XCTAssertEqual(try HTTPClient.post(server.port, "/events/orders/1", body: "x", headers: "Authorization: Bearer \(writer)\r\n").status, 200)
    }

    func testAStreamEndsWithSSEReauthWhenItsTokenExpiresAndLosesNothing() throws {
        let server = try TestServer(["--jwt-key", Self.key])
        let short = token(exp: now + 2)
        let client = try open(server, "/events/orders/7", headers: "Authorization: Bearer \(short)\r\n")
        XCTAssertTrue(client.read(untilContains: "retry:"))
        let ids = try server.hub.publish([Event(data: "before")], to: "orders/7")
        XCTAssertTrue(client.read(untilContains: "event: sse-reauth\n", timeout: 10))
        client.readToEnd()
        XCTAssertTrue(client.text.hasSuffix("0\r\n\r\n"), "the stream ends with its final chunk")
        let reauth = EventStreamText.events(EventStreamText.dechunk(HTTPClient.parse(client.text).body)).last
        XCTAssertNil(reauth?.id, "sse-reauth must not move the client's Last-Event-ID")
        // Published while the client reconnects: replayed after its Last-Event-ID.
        try server.hub.publish([Event(data: "meanwhile")], to: "orders/7")
        let again = try open(server, "/events/orders/7", headers: "Authorization: Bearer \(token())\r\nLast-Event-ID: \(ids[0])\r\n")
        XCTAssertTrue(again.read(untilContains: "data: meanwhile\n"))
        XCTAssertFalse(again.text.contains("before"))
    }

    func testProtectedNamesStayOutOfChannelsAndMetricsWithoutThePublishToken() throws {
        let server = try TestServer(["--jwt-key", Self.key, "--protect", "secret/**", "--publish-token", "pt"])
        try server.hub.publish([Event(data: "x")], to: "secret/a")
        try server.hub.publish([Event(data: "y")], to: "public")
        let anonymous = try HTTPClient.get(server.port, "/channels")
        XCTAssertFalse(anonymous.body.contains("secret"), anonymous.body)
        XCTAssertTrue(anonymous.body.contains("public"))
        let operator_ = try HTTPClient.get(server.port, "/channels", headers: "Authorization: Bearer pt\r\n")
        XCTAssertTrue(operator_.body.contains("secret/a"), operator_.body)
        let metrics = try HTTPClient.get(server.port, "/metrics")
        XCTAssertFalse(metrics.body.contains("secret"))
        XCTAssertTrue(metrics.body.contains("sse_auth_decisions_total{result=\"denied\"}"), metrics.body)
    }
}
