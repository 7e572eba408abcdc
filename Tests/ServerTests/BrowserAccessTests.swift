import Auth
import Foundation
import XCTest

/// Access control as the browser's own `EventSource` meets it: a refusal
/// ends it for good, the `sse_token` cookie carries it across a server
/// restart, and an expiring token is refreshed by the page while the stream
/// is told `sse-reauth` and resumes with nothing lost or doubled.
final class BrowserAccessTests: XCTestCase {
    static let key = "browser-access-key-0123456789abcd"
    static let publishToken = "browser-access-publish-token"
    let signer = JWTSigner(key: Array(BrowserAccessTests.key.utf8))

    private func token(_ user: String, channel: String, lifetime: Int64) -> String {
        signer.sign(sub: user, exp: Int64(Date().timeIntervalSince1970) + lifetime, subscribe: [channel])
    }

    /// Every channel protected (the default with `--jwt-key`); publishing needs the publish token.
    private func startServer(_ binary: URL, site: String, port: Int = 0, name: String, retryBindFor: TimeInterval = 0) throws
        -> ServerProcess
    {
        try ServerProcess.start(
            binary: binary,
            arguments: [
                "--port", "\(port)", "--host", "127.0.0.1", "--public", site, "--retry", "500", "--jwt-key", Self.key,
                "--publish-token", Self.publishToken, "stdin",
            ],
            directory: BrowserTests.repo, name: name, retryBindFor: retryBindFor)
    }

    /// JavaScript: sets the page origin's `sse_token` cookie, as an app's page would.
    private static func setCookie(_ token: String) -> String {
        "document.cookie = 'sse_token=' + \(BrowserPage.jsString(token)) + '; path=/; SameSite=Strict'; true"
    }

    /// JavaScript: opens `window.es` on `path`, recording data, ids, opens, errors and `sse-reauth` events.
    private static func listen(_ path: String) -> String {
        """
        window.got = []; window.ids = []; window.opens = 0; window.errors = 0; window.reauths = 0;
        window.es = new EventSource(\(BrowserPage.jsString(path)));
        es.onmessage = e => { got.push(e.data); ids.push(e.lastEventId); };
        es.onopen = () => { opens += 1; };
        es.onerror = () => { errors += 1; };
        es.addEventListener('sse-reauth', () => { reauths += 1; });
        true
        """
    }

    private static func got(_ data: [String]) -> String {
        "window.got.join() === '\(data.joined(separator: ","))'"
    }

    func testRefusalStopsTheEventSourceAndTheCookieCarriesItAcrossARestart() throws {
        guard let chromium = Chromium.find() else {
            throw XCTSkip("Chromium not found; run .ci/install-chromium to install it. The browser access test did not run.")
        }
        let binary = try ServerBinary.locate()
        let work = try TemporaryDirectory("sse-browser-access")
        defer { work.remove() }
        let site = try TestSite.make(in: work.url)
        var server = try startServer(binary, site: site, name: "first server")
        defer { server.kill() }
        let port = server.port
        let browser = try Chromium(executable: chromium, profile: work.url.appendingPathComponent("profile").path)
        defer { browser.close() }
        let page = try browser.open("http://127.0.0.1:\(port)/blank.html", network: true)

        // 1. No token, then an expired one: 401, and the EventSource gives up for good (CLOSED, no reconnect).
        let expired = token("alice", channel: "secret", lifetime: -60)
        for (what, path) in [("no token", "/events/secret"), ("an expired token", "/events/secret?token=\(expired)")] {
            let status = try page.evaluate(
                "fetch(\(BrowserPage.jsString(path)), {headers: {Accept: 'text/event-stream'}}).then(r => r.status)", awaitPromise: true)
                as? Int
            XCTAssertEqual(status, 401, "a stream of a protected channel with \(what)")
            _ = try page.evaluate(Self.listen(path))
            try page.waitFor("the EventSource with \(what) to close for good", timeout: 10, "window.errors >= 1 && es.readyState === 2")
            XCTAssertEqual(try page.int("window.opens"), 0)
        }

        // 2. With the cookie, the stream opens and receives events.
        let cookieToken = token("alice", channel: "secret", lifetime: 600)
        _ = try page.evaluate(Self.setCookie(cookieToken))
        _ = try page.evaluate(Self.listen("/events/secret"))
        try page.waitFor("the stream to open with the cookie", timeout: 10, "window.opens === 1")
        _ = try page.publish(channel: "secret", body: "s1", bearer: Self.publishToken)
        let lastBefore = try page.publish(channel: "secret", body: "s2", bearer: Self.publishToken)
        try page.waitFor("s1 and s2", timeout: 10, Self.got(["s1", "s2"]))

        // 3. The server dies; a new one on the same port; the EventSource reconnects by itself, with the cookie.
        server.kill()
        try page.waitFor("the EventSource to notice the server is gone", timeout: 10, "window.errors >= 1 && es.readyState === 0")
        server = try startServer(binary, site: site, port: port, name: "second server (same port \(port))", retryBindFor: 10)
        // Published at once: the page is most likely still waiting to reconnect, so it gets this one by replay.
        _ = try page.publish(channel: "secret", body: "a1", bearer: Self.publishToken)
        try page.waitFor("the EventSource to reconnect", timeout: 15, "window.opens >= 2 && es.readyState === 1")
        _ = try page.publish(channel: "secret", body: "a2", bearer: Self.publishToken)
        let lastID = try page.publish(channel: "secret", body: "a3", bearer: Self.publishToken)
        try page.waitFor("a1, a2 and a3", timeout: 10, "window.got.includes('a3')")
        XCTAssertEqual(try page.strings("window.got"), ["s1", "s2", "a1", "a2", "a3"], "every event exactly once, in order")
        XCTAssertEqual(try page.string("window.ids[window.ids.length - 1]"), lastID)
        let resumed = browser.requestHeaders(urlContaining: "/events/secret").first { headers in
            headers.keys.contains { $0.lowercased() == "last-event-id" }
        }
        XCTAssertEqual(
            resumed?.first { $0.key.lowercased() == "last-event-id" }?.value, lastBefore,
            "the reconnect names the last event seen before the restart")
        XCTAssertEqual(resumed?.first { $0.key.lowercased() == "cookie" }?.value, "sse_token=\(cookieToken)", "and carries the cookie")
        // The refusals, the stream cut by the kill and the reconnects that found no server are expected.
        let expected = ["status of 401", "ERR_INCOMPLETE_CHUNKED_ENCODING", "ERR_CONNECTION_REFUSED"]
        let problems = browser.consoleProblems().filter { problem in !expected.contains { problem.contains($0) } }
        XCTAssertTrue(problems.isEmpty, "console errors:\n" + problems.joined(separator: "\n"))
    }

    func testExpiringTokenIsRefreshedAndTheStreamResumesWithNothingLost() throws {
        guard let chromium = Chromium.find() else {
            throw XCTSkip("Chromium not found; run .ci/install-chromium to install it. The browser access test did not run.")
        }
        let binary = try ServerBinary.locate()
        let work = try TemporaryDirectory("sse-browser-reauth")
        defer { work.remove() }
        let site = try TestSite.make(in: work.url)
        let server = try startServer(binary, site: site, name: "reauth server")
        defer { server.kill() }
        let browser = try Chromium(executable: chromium, profile: work.url.appendingPathComponent("profile").path)
        defer { browser.close() }
        let page = try browser.open("http://127.0.0.1:\(server.port)/blank.html", network: true)

        // A token that expires in about 3 s: the server ends the stream then with sse-reauth.
        _ = try page.evaluate(Self.setCookie(token("alice", channel: "news", lifetime: 3)))
        _ = try page.evaluate(Self.listen("/events/news"))
        try page.waitFor("the stream to open with the short-lived cookie", timeout: 10, "window.opens === 1")
        // The app refreshes the cookie well before the expiry (at once, so a slow machine cannot
        // miss it); the open stream still runs on the old token.
        let refreshed = token("alice", channel: "news", lifetime: 600)
        _ = try page.evaluate(Self.setCookie(refreshed))
        for body in ["e1", "e2"] { _ = try page.publish(channel: "news", body: body, bearer: Self.publishToken) }
        try page.waitFor("e1 and e2", timeout: 10, Self.got(["e1", "e2"]))
        let lastBefore = try page.publish(channel: "news", body: "e3", bearer: Self.publishToken)
        try page.waitFor("the sse-reauth event at the old token's expiry", timeout: 10, "window.reauths >= 1")
        // Published at once: most likely between the close and the reconnect, so it comes by replay.
        _ = try page.publish(channel: "news", body: "e4", bearer: Self.publishToken)
        try page.waitFor("the EventSource to reconnect with the new cookie", timeout: 10, "window.opens >= 2 && es.readyState === 1")
        let lastID = try page.publish(channel: "news", body: "e5", bearer: Self.publishToken)
        try page.waitFor("e5", timeout: 10, "window.got.includes('e5')")
        XCTAssertEqual(try page.strings("window.got"), ["e1", "e2", "e3", "e4", "e5"], "every event exactly once, in order, across the expiry")
        XCTAssertEqual(try page.int("window.reauths"), 1)
        XCTAssertEqual(try page.string("window.ids[window.ids.length - 1]"), lastID)
        let reconnects = browser.requestHeaders(urlContaining: "/events/news").filter { headers in
            headers.keys.contains { $0.lowercased() == "last-event-id" }
        }
        XCTAssertEqual(
            reconnects.map { $0.first { $0.key.lowercased() == "last-event-id" }?.value }, [lastBefore],
            "one reconnect, naming the last event before the expiry")
        XCTAssertEqual(
            reconnects.first?.first { $0.key.lowercased() == "cookie" }?.value, "sse_token=\(refreshed)",
            "the reconnect carries the refreshed cookie")
        XCTAssertTrue(browser.consoleProblems().isEmpty, browser.consoleProblems().joined(separator: "\n"))
    }
}
