import Foundation
import XCTest

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The dashboard in `public/` as a person sees it: the real `sse-serve`
/// binary serving the pages, driven in headless Chromium over the Chrome
/// DevTools Protocol (`--remote-debugging-pipe`: NUL-separated JSON on fds 3
/// and 4, so no WebSocket client and no dependency is needed).
///
/// Skipped, with a message, where no Chromium is installed
/// (`.ci/install-chromium` installs Debian's). Set `SSE_SERVE_SCREENSHOTS=DIR`
/// to also save a screenshot of each page there.
final class BrowserTests: XCTestCase {
    /// The repository root, from this file's place in it.
    static let repo = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    func testDashboardShowsTicksLogLinesAndResumesAfterServerRestart() throws {
        guard let chromium = Chromium.find() else {
            throw XCTSkip(
                "Chromium not found (looked for $CHROMIUM, chromium, chromium-browser, google-chrome in PATH); "
                    + "run .ci/install-chromium to install it. The browser test did not run.")
        }
        let binary = try ServerBinary.locate()
        let work = try TemporaryDirectory("sse-browser-test")
        defer { work.remove() }
        let publicDir = Self.repo.appendingPathComponent("public").path
        // --retry 500: reconnects within a second, so the restart part stays quick.
        let serverArguments = ["--host", "127.0.0.1", "--public", publicDir, "--retry", "500", "ticker"]

        // 1. A server on an ephemeral port, with the ticker demo.
        var server = try ServerProcess.start(
            binary: binary, arguments: ["--port", "0"] + serverArguments, directory: Self.repo, name: "first server")
        defer { server.kill() }
        let origin = "http://127.0.0.1:\(server.port)"

        let browser = try Chromium(executable: chromium, profile: work.url.appendingPathComponent("profile").path)
        defer { browser.close() }

        // 2. The ticker board fills with rows as ticks arrive.
        let ticker = try browser.open("\(origin)/")
        try ticker.waitFor("the ticker page to be live", timeout: 15, "document.documentElement.dataset.conn === 'live'")
        try ticker.waitFor(
            "two or more symbols on the ticker board, with prices and a sparkline",
            timeout: 20,
            """
            (() => { const rows = [...document.querySelectorAll('#rows tr[data-symbol]')];
              return rows.length >= 2 && +document.documentElement.dataset.events >= 3
                && rows.every(r => /\\d/.test(r.querySelector('.price').textContent)
                  && /%$/.test(r.querySelector('.pct').textContent) && r.querySelector('canvas')); })()
            """)
        XCTAssertEqual(try ticker.string("document.visibilityState"), "visible", "pages must be visible, or frames never run")

        // 3. The log viewer shows lines published with POST /events/{channel}.
        let channel = "browser-test-\(UInt32.random(in: 0...UInt32.max))"
        let log = try browser.open("\(origin)/log.html?channel=\(channel)")
        try log.waitFor("the log viewer to be live", timeout: 10, "document.documentElement.dataset.conn === 'live'")
        for line in ["before-1", "before-2", "before-3"] { _ = try log.publish(channel: channel, body: line) }
        try log.waitFor("the three published lines in the log viewer", timeout: 10, Self.logHas(["before-1", "before-2", "before-3"]))
        XCTAssertEqual(
            try log.strings("[...document.querySelectorAll('#log .line .d')].map(e => e.textContent)"),
            ["before-1", "before-2", "before-3"])

        // 4. The channel explorer lists the channels; clicking one shows its raw events, of any type.
        let explorer = try browser.open("\(origin)/channels.html")
        try explorer.waitFor(
            "the explorer to list 'ticker' and '\(channel)'", timeout: 10,
            "['ticker', '\(channel)'].every(n => document.querySelector(`#channel-rows tr[data-channel=\"${n}\"]`))")
        _ = try explorer.evaluate("document.querySelector('#channel-rows tr[data-channel=\"\(channel)\"] button').click()")
        try explorer.waitFor(
            "the raw viewer to replay the channel's three events", timeout: 10,
            "[...document.querySelectorAll('#raw .ev pre')].map(e => e.textContent).join(',') === 'before-1,before-2,before-3'")
        let typedID = try log.publish(channel: channel, body: "typed-1", query: "?event=custom-type")
        try explorer.waitFor(
            "the explorer's list to refresh the channel's last id", timeout: 10,
            "document.querySelector('#channel-rows tr[data-channel=\"\(channel)\"] td.id').textContent === '\(typedID)'")
        try explorer.waitFor(
            "an event of type custom-type in the raw viewer", timeout: 10,
            "[...document.querySelectorAll('#raw .ev')].some(e => e.dataset.type === 'custom-type' && e.querySelector('pre').textContent === 'typed-1')")
        try log.waitFor(
            "the custom-type event in the log viewer too", timeout: 10,
            Self.logHas(["before-1", "before-2", "before-3", "typed-1"]))

        // The log viewer's pause holds lines back until resumed; its filter hides lines that do not match.
        _ = try log.evaluate("document.getElementById('pause').click()")
        _ = try log.publish(channel: channel, body: "held-1")
        try log.waitFor("the paused viewer to hold the new line", timeout: 10, "document.getElementById('count-held').textContent === '1'")
        XCTAssertFalse(try log.strings("[...document.querySelectorAll('#log .line .d')].map(e => e.textContent)").contains("held-1"))
        _ = try log.evaluate("document.getElementById('pause').click()")
        try log.waitFor("the held line after resuming", timeout: 10, Self.logHas(["typed-1", "held-1"]))
        _ = try log.evaluate(
            "(f => { f.value = 'TYPED'; f.dispatchEvent(new Event('input')); })(document.getElementById('filter'))")
        try log.waitFor(
            "the filter to leave only the matching line", timeout: 10,
            "[...document.querySelectorAll('#log .line:not([hidden]) .d')].map(e => e.textContent).join() === 'typed-1'")
        _ = try log.evaluate("(f => { f.value = ''; f.dispatchEvent(new Event('input')); })(document.getElementById('filter'))")
        try log.waitFor("every line again with no filter", timeout: 10, "document.querySelectorAll('#log .line[hidden]').length === 0")

        // Auto-scroll follows new lines until the reader scrolls up; then a button counts them and jumps back.
        let fill = (1...40).map { "fill-\($0)" }
        for line in fill { _ = try log.publish(channel: channel, body: line) }
        try log.waitFor("40 more lines, scrolled to the end", timeout: 10,
            Self.logHas(fill) + " && (l => l.scrollHeight > l.clientHeight && l.scrollHeight - l.scrollTop - l.clientHeight < 4)(document.getElementById('log'))")
        _ = try log.evaluate("(l => { l.scrollTop = 0; l.dispatchEvent(new Event('scroll')); })(document.getElementById('log'))")
        _ = try log.publish(channel: channel, body: "while-scrolled-up")
        try log.waitFor("the jump button to count the line that came while scrolled up", timeout: 10,
            Self.logHas(["while-scrolled-up"]) + " && !document.getElementById('jump').hidden && document.getElementById('jump-count').textContent === '1'")
        XCTAssertEqual(try log.int("document.getElementById('log').scrollTop"), 0, "the viewer must not scroll while the reader is reading above")
        _ = try log.evaluate("document.getElementById('jump').click()")
        try log.waitFor("the jump button to go back to the end", timeout: 10,
            "(l => l.scrollHeight - l.scrollTop - l.clientHeight < 4)(document.getElementById('log')) && document.getElementById('jump').hidden")

        // The page's own event-stream parser gives the same events however the bytes are split.
        XCTAssertEqual(try explorer.string(Self.parserCheck), "ok")

        if let dir = ProcessInfo.processInfo.environment["SSE_SERVE_SCREENSHOTS"] {
            try ticker.screenshot(to: "\(dir)/ticker.png", width: 1200, height: 620)
            try log.screenshot(to: "\(dir)/log.png", width: 1000, height: 520)
            try explorer.screenshot(to: "\(dir)/channels.png", width: 1200, height: 560)
        }

        // No console errors, no uncaught exceptions, no failed loads (a favicon 404 would be one).
        let problems = browser.consoleProblems()
        XCTAssertTrue(problems.isEmpty, "console errors before the restart:\n" + problems.joined(separator: "\n"))

        // 5. Kill the server mid-stream; the pages notice.
        let ticksBefore = try ticker.int("+document.documentElement.dataset.events")
        let port = server.port
        server.kill()
        try log.waitFor("the log viewer to show it lost the server", timeout: 10, "document.documentElement.dataset.conn !== 'live'")
        try ticker.waitFor("the ticker to show it lost the server", timeout: 10, "document.documentElement.dataset.conn !== 'live'")
        XCTAssertEqual(try log.string("document.getElementById('conn-state').textContent"), "reconnecting")

        // 6. A new server on the same port; events published after the restart appear exactly once.
        server = try ServerProcess.start(
            binary: binary, arguments: ["--port", "\(port)"] + serverArguments, directory: Self.repo,
            name: "second server (same port \(port))", retryBindFor: 10)
        // Published at once: the page is most likely still waiting to reconnect, so it gets this one by replay.
        _ = try log.publish(channel: channel, body: "after-1")
        try log.waitFor(
            "the log viewer to reconnect by itself", timeout: 15,
            "document.documentElement.dataset.conn === 'live' && +document.documentElement.dataset.reconnects >= 1")
        _ = try log.publish(channel: channel, body: "after-2")
        let lastID = try log.publish(channel: channel, body: "after-3")
        let expected =
            ["before-1", "before-2", "before-3", "typed-1", "held-1"] + fill + ["while-scrolled-up", "after-1", "after-2", "after-3"]
        try log.waitFor("the lines published after the restart", timeout: 10, Self.logHas(["after-1", "after-2", "after-3"]))
        XCTAssertEqual(
            try log.strings("[...document.querySelectorAll('#log .line .d')].map(e => e.textContent)"), expected,
            "every line exactly once, in order, across the restart")
        XCTAssertEqual(try log.string("document.documentElement.dataset.lastEventId"), lastID, "the page shows the last event id")
        XCTAssertEqual(try log.string("document.getElementById('conn-id').textContent"), lastID)
        XCTAssertEqual(try log.string("document.getElementById('conn-state').textContent"), "live")

        // The ticker (the browser's own EventSource) resumes too, and ticks flow again.
        try ticker.waitFor(
            "the ticker to reconnect by itself and receive new ticks", timeout: 15,
            "document.documentElement.dataset.conn === 'live' && +document.documentElement.dataset.reconnects >= 1 "
                + "&& +document.documentElement.dataset.events > \(ticksBefore)")
        try explorer.waitFor(
            "the explorer's raw viewer to show the events after the restart, once", timeout: 10,
            "[...document.querySelectorAll('#raw .ev pre')].map(e => e.textContent).join(',') === '\(expected.joined(separator: ","))'")

        // 7. A graceful stop (SIGTERM ends every stream cleanly) and a third server: the same again.
        let reconnects = try log.int("+document.documentElement.dataset.reconnects")
        let stopTime = server.stop(grace: 10)
        XCTAssertEqual(server.process.terminationReason, .exit, "sse-serve should exit, not die, on SIGTERM (waited \(stopTime) s)")
        XCTAssertEqual(server.process.terminationStatus, 0, "sse-serve should exit 0 on SIGTERM; stderr: \(server.output.text)")
        server = try ServerProcess.start(
            binary: binary, arguments: ["--port", "\(port)"] + serverArguments, directory: Self.repo,
            name: "third server (same port \(port))", retryBindFor: 10)
        let finalID = try log.publish(channel: channel, body: "after-stop")
        try log.waitFor(
            "the log viewer to reconnect after a graceful stop and show the new line", timeout: 15,
            "+document.documentElement.dataset.reconnects > \(reconnects) && document.documentElement.dataset.lastEventId === '\(finalID)'")
        XCTAssertEqual(
            try log.strings("[...document.querySelectorAll('#log .line .d')].map(e => e.textContent)"), expected + ["after-stop"],
            "every line exactly once, in order, across a graceful restart")
    }

    func testGzipStreamsReachThePageEventByEvent() throws {
        guard let chromium = Chromium.find() else {
            throw XCTSkip("Chromium not found; run .ci/install-chromium to install it. The browser test did not run.")
        }
        let binary = try ServerBinary.locate()
        let work = try TemporaryDirectory("sse-browser-gzip")
        defer { work.remove() }
        let publicDir = Self.repo.appendingPathComponent("public").path
        let server = try ServerProcess.start(
            binary: binary, arguments: ["--port", "0", "--host", "127.0.0.1", "--public", publicDir, "--gzip", "stdin"],
            directory: Self.repo, name: "gzip server")
        defer { server.kill() }
        let browser = try Chromium(executable: chromium, profile: work.url.appendingPathComponent("profile").path)
        defer { browser.close() }

        let log = try browser.open("http://127.0.0.1:\(server.port)/log.html?channel=zipped", network: true)
        try log.waitFor("the log viewer to be live", timeout: 10, "document.documentElement.dataset.conn === 'live'")
        // One event at a time: each must arrive on its own, so the server must flush the gzip stream per event.
        for n in 1...3 {
            _ = try log.publish(channel: "zipped", body: "zipped-\(n)")
            try log.waitFor("zipped-\(n) in the log viewer", timeout: 10, Self.logHas(["zipped-\(n)"]))
        }
        XCTAssertEqual(
            try log.strings("[...document.querySelectorAll('#log .line .d')].map(e => e.textContent)"),
            ["zipped-1", "zipped-2", "zipped-3"])
        let encodings = browser.responseHeaders(urlContaining: "/events/zipped").map { headers in
            headers.first { $0.key.lowercased() == "content-encoding" }?.value ?? "none"
        }
        XCTAssertEqual(encodings.first, "gzip", "the stream should be gzip-encoded with --gzip (saw \(encodings))")
        XCTAssertTrue(browser.consoleProblems().isEmpty, browser.consoleProblems().joined(separator: "\n"))
    }

    /// JavaScript: feeds App.EventStreamParser a stream with every kind of line ending, comments, a BOM,
    /// multi-line data, an id with NUL, a bad retry and an unknown field, split at every offset
    /// and in one piece; "ok" when every split gives the expected events, else what differed.
    static let parserCheck = """
        (() => {
          const stream = '\\uFEFFretry: 750\\r\\n: heartbeat\\n\\nid: 1-0\\nevent: a\\ndata: one\\ndata:two\\r\\n\\r\\n'
            + 'data: x\\rid: 2-0\\r\\rdata\\nfoo: bar\\nretry: 1x\\n\\nid: bad\\u0000id\\nevent: b\\ndata:  sp\\n\\n'
            + 'event: lost\\n\\ndata: tail-without-blank-line';
          const want = JSON.stringify([
            {id: '1-0', type: 'a', data: 'one\\ntwo'}, {id: '2-0', type: 'message', data: 'x'},
            {id: '2-0', type: 'message', data: ''}, {id: '2-0', type: 'b', data: ' sp'}]);
          for (let i = 0; i <= stream.length; i++) {
            for (let j = i; j <= stream.length; j++) {
              const p = new App.EventStreamParser(), got = [];
              for (const part of [stream.slice(0, i), stream.slice(i, j), stream.slice(j)]) p.feed(part, e => got.push(e));
              if (JSON.stringify(got) !== want || p.retry !== 750) return `split at ${i},${j}: ${JSON.stringify(got)} retry ${p.retry}`;
            }
          }
          return 'ok';
        })()
        """

    /// A JavaScript condition: every one of `lines` is among the log viewer's lines
    /// (the test then compares the whole list, so a duplicate or a wrong order shows in full).
    static func logHas(_ lines: [String]) -> String {
        let json = String(decoding: try! JSONSerialization.data(withJSONObject: lines), as: UTF8.self)
        return """
            (() => { const have = new Set([...document.querySelectorAll('#log .line .d')].map(e => e.textContent));
              return \(json).every(l => have.has(l)); })()
            """
    }
}

