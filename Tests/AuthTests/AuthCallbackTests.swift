import XCTest

@testable import Auth

final class AuthCallbackTests: XCTestCase {
    private let asked = ["room/1", "room/2", "news"]

    private func answer(_ status: Int, _ headers: [(String, String)] = [], body: String = "") -> AuthCallbackAnswer {
        AuthCallbackAnswer.interpret(status: status, headers: headers.map { (name: $0.0, value: $0.1) }, body: bytes(body), asked: asked)
    }

    private func grant(_ headers: [(String, String)], status: Int = 200) -> AuthGrant? {
        if case .allowed(let grant) = answer(status, headers) { return grant }
        return nil
    }

    private func isUnavailable(_ answer: AuthCallbackAnswer) -> Bool {
        if case .unavailable = answer { return true }
        return false
    }

    func testAPlain2xxAllowsEverythingAsked() {
        XCTAssertEqual(answer(200), .allowed(AuthGrant(channels: asked)))
        XCTAssertEqual(answer(204), .allowed(AuthGrant(channels: asked)))
    }

    func testAnswerHeadersNarrowAndDescribeTheGrant() {
        let g = grant([
            ("sse-channels", "news, room/1"), ("SSE-User", " alice "), ("SSE-User-Info", #"{ "name": "Alice", "n": [1, 2] }"#),
            ("SSE-Expires-In", "300"), ("Cache-Control", "private, max-age=30"),
        ])
        XCTAssertEqual(g, AuthGrant(channels: ["room/1", "news"], user: "alice", info: #"{"name":"Alice","n":[1,2]}"#, expiresIn: 300, cacheSeconds: 30))
        XCTAssertEqual(grant([("SSE-Channels", "")])?.channels, [], "an empty list allows none")
        XCTAssertEqual(grant([("SSE-Channels", "news"), ("SSE-Channels", "room/2")])?.channels, ["room/2", "news"])
        XCTAssertEqual(grant([("SSE-User", "")])?.user, nil)
    }

    func testCacheControl() {
        XCTAssertEqual(grant([("Cache-Control", "max-age=10")])?.cacheSeconds, 10)
        XCTAssertEqual(grant([("Cache-Control", "max-age=\"10\"")])?.cacheSeconds, 10)
        XCTAssertEqual(grant([("Cache-Control", "MAX-AGE=3600")])?.cacheSeconds, 60, "capped at 60")
        XCTAssertEqual(grant([("Cache-Control", "max-age=99999999999999999999")])?.cacheSeconds, 60)
        XCTAssertEqual(grant([("Cache-Control", "max-age=10, no-store")])?.cacheSeconds, 0)
        XCTAssertEqual(grant([("Cache-Control", "no-cache")])?.cacheSeconds, 0)
        XCTAssertEqual(grant([("Cache-Control", "max-age=-1")])?.cacheSeconds, 0)
        XCTAssertEqual(grant([("Cache-Control", "max-age=")])?.cacheSeconds, 0)
        XCTAssertEqual(grant([])?.cacheSeconds, 0)
        XCTAssertEqual(grant([("Cache-Control", "max-age=50"), ("SSE-Expires-In", "20")])?.cacheSeconds, 20, "never past the expiry")
    }

    func testRefusalsPassTheAppsAnswerOn() {
        XCTAssertEqual(
            answer(401, [("WWW-Authenticate", "Bearer realm=\"x\"")], body: "log in"),
            .denied(status: 401, body: bytes("log in"), wwwAuthenticate: "Bearer realm=\"x\""))
        XCTAssertEqual(answer(403, body: "no"), .denied(status: 403, body: bytes("no"), wwwAuthenticate: nil))
        guard case .denied(_, let body, _) = answer(403, body: String(repeating: "z", count: 5000)) else { return XCTFail() }
        XCTAssertEqual(body.count, 4096)
    }

    func testAnythingElseIsUnavailableNeverAllowed() {
        for status in [100, 199, 300, 302, 304, 400, 404, 429, 500, 502, 503] {
            XCTAssertEqual(answer(status), .unavailable(reason: "auth callback answered \(status)"))
        }
        XCTAssertEqual(
            answer(200, [("SSE-Channels", "news,secret")]),
            .unavailable(reason: "auth callback's SSE-Channels names \"secret\", which was not asked"))
        XCTAssertTrue(isUnavailable(answer(200, [("SSE-User-Info", "{name: 1}")])))
        XCTAssertTrue(isUnavailable(answer(200, [("SSE-User-Info", "")])))
        XCTAssertTrue(isUnavailable(answer(200, [("SSE-User-Info", "\"" + String(repeating: "a", count: 1023) + "\"")])))
        XCTAssertFalse(isUnavailable(answer(200, [("SSE-User-Info", "\"" + String(repeating: "a", count: 1022) + "\"")])))
        for bad in ["", "x", "-5", "0", "1.5", "10s", "9999999999"] {
            XCTAssertTrue(isUnavailable(answer(200, [("SSE-Expires-In", bad)])), bad)
        }
        XCTAssertTrue(isUnavailable(answer(200, [("SSE-User", "a"), ("sse-user", "b")])))
    }

    func testTheRequestCarriesTheContractsFields() {
        let fields = AuthCallbackRequest.headers(
            cookie: "sid=1", authorization: "Bearer t", origin: "https://app.example", userAgent: "curl/8",
            clientAddress: "192.0.2.7", channels: ["a", "b/c"], token: "t", lastEventID: "17-0")
        XCTAssertEqual(fields.map { "\($0.0): \($0.1)" }, [
            "Cookie: sid=1", "Authorization: Bearer t", "Origin: https://app.example", "User-Agent: curl/8",
            "X-Forwarded-For: 192.0.2.7", "SSE-Channels: a,b/c", "SSE-Token: t", "SSE-Last-Event-ID: 17-0",
        ])
        let bare = AuthCallbackRequest.headers(
            cookie: nil, authorization: nil, origin: nil, userAgent: nil, clientAddress: "::1", channels: ["a"], token: nil, lastEventID: nil)
        XCTAssertEqual(bare.map { "\($0.0): \($0.1)" }, ["X-Forwarded-For: ::1", "SSE-Channels: a"])
        let forged = AuthCallbackRequest.headers(
            cookie: nil, authorization: nil, origin: nil, userAgent: nil, clientAddress: "::1", channels: ["a"],
            token: "x\r\nSSE-User: root", lastEventID: "1\n")
        XCTAssertEqual(forged.map(\.0), ["X-Forwarded-For", "SSE-Channels"])
    }
}
