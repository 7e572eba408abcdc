import Auth
import Foundation
import XCTest

/// The channel explorer's presence panel in headless Chromium: two tabs that
/// hold a stream of `room` as two JWT users appear in the explorer's tab, live,
/// and one closing its tab leaves it after the leave grace.
final class BrowserPresenceTests: XCTestCase {
    static let key = "browser-presence-key-0123456789ab"
    let signer = JWTSigner(key: Array(BrowserPresenceTests.key.utf8))

    private func token(_ user: String, name: String, publish: [String] = []) -> String {
        signer.sign(
            sub: user, exp: Int64(Date().timeIntervalSince1970) + 600, subscribe: ["room"], publish: publish,
            info: .object([.init("name", .string(name))]))
    }

    /// Opens a same-origin page that holds `EventSource('/events/room?token=…')` as `user`.
    private func member(_ browser: Chromium, _ origin: String, _ user: String, name: String) throws -> BrowserPage {
        let page = try browser.open("\(origin)/blank.html")
        _ = try page.evaluate(
            """
            window.opened = 0; window.es = new EventSource('/events/room?token=' + encodeURIComponent(\(BrowserPage.jsString(token(user, name: name)))));
            es.onopen = () => { window.opened += 1; }; true
            """)
        try page.waitFor("\(user)'s stream of room to open", timeout: 10, "window.opened >= 1")
        return page
    }

    /// A JavaScript condition on the panel: its state, counts and the users listed, in order.
    private static func panelShows(users: [String], connections: Int) -> String {
        """
        (p => p.dataset.state === 'live' && p.dataset.users === '\(users.count)' && p.dataset.connections === '\(connections)'
          && [...p.querySelectorAll('#presence-list li')].map(li => li.dataset.user).join() === '\(users.joined(separator: ","))'
          && document.getElementById('presence-users').textContent === '\(users.count)'
          && document.getElementById('presence-connections').textContent === '\(connections)')(document.getElementById('presence'))
        """
    }

    func testPanelShowsWhoIsHereLive() throws {
        guard let chromium = Chromium.find() else {
            throw XCTSkip("Chromium not found; run .ci/install-chromium to install it. The browser presence test did not run.")
        }
        let binary = try ServerBinary.locate()
        let work = try TemporaryDirectory("sse-browser-presence")
        defer { work.remove() }
        let site = try TestSite.make(in: work.url)
        // Nothing protected: `room` is public, and a valid JWT still says who is reading it.
        let server = try ServerProcess.start(
            binary: binary,
            arguments: [
                "--port", "0", "--host", "127.0.0.1", "--public", site, "--retry", "500", "--jwt-key", Self.key,
                "--protect", "nothing-protected", "--leave-grace", "1", "stdin",
            ],
            directory: BrowserTests.repo, name: "presence server")
        defer { server.kill() }
        let origin = "http://127.0.0.1:\(server.port)"
        let browser = try Chromium(executable: chromium, profile: work.url.appendingPathComponent("profile").path)
        defer { browser.close() }

        // Alice is there before the explorer looks (the snapshot tells it); Bob comes after (a live join).
        let alice = try member(browser, origin, "alice", name: "Alice Liddell")
        let explorer = try browser.open("\(origin)/channels.html#room")
        // Connections: Alice's stream and the explorer's own raw viewer of room (anonymous).
        try explorer.waitFor("the panel to show Alice from the snapshot", timeout: 10, Self.panelShows(users: ["alice"], connections: 2))
        let bob = try member(browser, origin, "bob", name: "Bob")
        try explorer.waitFor("the panel to show Alice and Bob", timeout: 10, Self.panelShows(users: ["alice", "bob"], connections: 3))
        XCTAssertEqual(
            try explorer.strings("[...document.querySelectorAll('#presence-list li .who')].map(e => e.textContent)"),
            ["Alice Liddell", "Bob"], "the panel names users by their info.name")
        XCTAssertEqual(try explorer.string("document.getElementById('presence-channel').textContent"), "on room")

        if let dir = ProcessInfo.processInfo.environment["SSE_SERVE_SCREENSHOTS"] {
            for line in ["{\"text\":\"hello\"}", "{\"text\":\"who is here?\"}"] {
                _ = try alice.publish(channel: "room", body: line, bearer: token("alice", name: "Alice Liddell", publish: ["room"]))
            }
            try explorer.waitFor("the two messages in the raw viewer", timeout: 10, "document.querySelectorAll('#raw .ev').length === 2")
            try explorer.screenshot(to: "\(dir)/presence.png", width: 1200, height: 560)
        }

        // Bob closes his tab: after the leave grace (1 s) the panel shows Alice alone.
        try bob.close()
        try explorer.waitFor("the panel to show Alice alone after Bob's leave", timeout: 10, Self.panelShows(users: ["alice"], connections: 2))
        XCTAssertEqual(try alice.int("window.es.readyState"), 1, "Alice's stream is still open")

        let problems = browser.consoleProblems()
        XCTAssertTrue(problems.isEmpty, "console errors:\n" + problems.joined(separator: "\n"))
    }
}
