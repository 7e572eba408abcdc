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

// MARK: - Failures

/// A failure of the harness itself, with what it was waiting for.
private struct BrowserTestError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

// MARK: - Files and processes

/// kill(2), under a name that the `kill()` methods below do not hide.
private func sendSignal(_ pid: pid_t, _ signal: Int32) { _ = kill(pid, signal) }

/// close(2), under a name that the `close()` method below does not hide.
private func closeDescriptor(_ fd: Int32) { _ = close(fd) }

/// A directory under the system's temporary directory, removed at the end.
private struct TemporaryDirectory {
    let url: URL
    init(_ prefix: String) throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }
    func remove() { try? FileManager.default.removeItem(at: url) }
}

/// Finds the `sse-serve` executable that `swift build` / `swift test` made.
private enum ServerBinary {
    static func locate() throws -> URL {
        let fm = FileManager.default
        if let path = ProcessInfo.processInfo.environment["SSE_SERVE_BINARY"] {
            guard fm.isExecutableFile(atPath: path) else { throw BrowserTestError("SSE_SERVE_BINARY=\(path) is not executable") }
            return URL(fileURLWithPath: path)
        }
        // Next to the test bundle: .build[-x]/[triple/]debug/sse-servePackageTests.xctest.
        var places: [URL] = []
        if let exe = Bundle.main.executableURL { places.append(exe.resolvingSymlinksInPath().deletingLastPathComponent()) }
        places.append(Bundle(for: BrowserTests.self).bundleURL.resolvingSymlinksInPath().deletingLastPathComponent())
        let argv0 = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        places.append(argv0.deletingLastPathComponent())
        for dir in places {
            // Walk up a few levels: on macOS the bundle's executable sits deeper inside it.
            var d = dir
            for _ in 0..<4 {
                let candidate = d.appendingPathComponent("sse-serve")
                if fm.isExecutableFile(atPath: candidate.path) { return candidate }
                d = d.deletingLastPathComponent()
            }
        }
        throw BrowserTestError(
            "sse-serve was not found next to the test bundle (looked in \(places.map(\.path))); "
                + "build it first (swift build) or set SSE_SERVE_BINARY")
    }
}

// MARK: - The server under test

/// A running `sse-serve`, its port read from the `listening on http://HOST:PORT` line on standard error.
private final class ServerProcess {
    let process: Process
    let port: Int
    let output: LockedText
    let name: String

    private init(process: Process, port: Int, output: LockedText, name: String) {
        self.process = process
        self.port = port
        self.output = output
        self.name = name
    }

    /// Starts the server and waits for its listening line. With `retryBindFor`, a server that exits
    /// before listening (the port not free yet) is started again until that many seconds have passed.
    static func start(
        binary: URL, arguments: [String], directory: URL, name: String, retryBindFor: TimeInterval = 0
    ) throws -> ServerProcess {
        let deadline = Date().addingTimeInterval(retryBindFor)
        var attempt = 0
        while true {
            attempt += 1
            do {
                return try startOnce(binary: binary, arguments: arguments, directory: directory, name: name)
            } catch let error as ExitedEarly where Date() < deadline {
                _ = error
                // Bounded: only while the deadline allows, with a short pause between attempts.
                usleep(200_000)
            } catch let error as ExitedEarly {
                throw BrowserTestError("\(name) did not start after \(attempt) attempt(s): \(error.description)")
            }
        }
    }

    struct ExitedEarly: Error, CustomStringConvertible { let description: String }

    private static func startOnce(binary: URL, arguments: [String], directory: URL, name: String) throws -> ServerProcess {
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        process.currentDirectoryURL = directory
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        let pipe = Pipe()
        process.standardError = pipe
        let output = LockedText()
        pipe.fileHandleForReading.readabilityHandler = { handle in
            let data = handle.availableData
            if data.isEmpty {
                handle.readabilityHandler = nil
                output.finish()
            } else {
                output.append(data)
            }
        }
        try process.run()
        let line = output.wait(timeout: 15) { text in
            text.split(separator: "\n").first { $0.contains("listening on http://") }.map(String.init)
        }
        guard let line, let colon = line.lastIndex(of: ":"),
            let port = Int(line[line.index(after: colon)...].prefix { $0.isNumber })
        else {
            if !process.isRunning {
                throw ExitedEarly(description: "\(name) exited with status \(process.terminationStatus): \(output.text)")
            }
            process.terminate()
            throw BrowserTestError("\(name) printed no 'listening on http://HOST:PORT' line within 15 s; stderr: \(output.text)")
        }
        return ServerProcess(process: process, port: port, output: output, name: name)
    }

    /// SIGKILL: the server vanishes mid-stream, as in a crash.
    func kill() {
        guard process.isRunning else { return }
        sendSignal(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    /// SIGTERM, then SIGKILL if it is still there after `grace` seconds; returns how long it took to exit.
    @discardableResult
    func stop(grace: TimeInterval) -> TimeInterval {
        let start = Date()
        guard process.isRunning else { return 0 }
        process.terminate()
        let deadline = start.addingTimeInterval(grace)
        // Bounded: polls for the exit until the deadline.
        while process.isRunning && Date() < deadline { usleep(20_000) }
        let elapsed = Date().timeIntervalSince(start)
        kill()
        return elapsed
    }
}

/// Text collected from another thread, with a bounded wait for a condition on it.
private final class LockedText: @unchecked Sendable {
    private let condition = NSCondition()
    private var data = Data()
    private var finished = false

    var text: String {
        condition.lock()
        defer { condition.unlock() }
        return String(decoding: data, as: UTF8.self)
    }

    func append(_ more: Data) {
        condition.lock()
        data.append(more)
        condition.broadcast()
        condition.unlock()
    }

    func finish() {
        condition.lock()
        finished = true
        condition.broadcast()
        condition.unlock()
    }

    func wait<T>(timeout: TimeInterval, _ found: (String) -> T?) -> T? {
        let deadline = Date().addingTimeInterval(timeout)
        condition.lock()
        defer { condition.unlock() }
        while true {
            if let value = found(String(decoding: data, as: UTF8.self)) { return value }
            if finished || !condition.wait(until: deadline) { return found(String(decoding: data, as: UTF8.self)) }
        }
    }
}

// MARK: - Chromium

/// Headless Chromium driven over `--remote-debugging-pipe`.
private final class Chromium: @unchecked Sendable {
    private let pid: pid_t
    private let toBrowser: Int32
    private let fromBrowser: Int32
    private let condition = NSCondition()
    private var responses: [Int: [String: Any]] = [:]
    private var events: [[String: Any]] = []
    private var nextID = 0
    private var closed = false
    private let logPath: String

    /// `$CHROMIUM`, else the first of the usual names found in PATH.
    static func find() -> String? {
        let env = ProcessInfo.processInfo.environment
        if let path = env["CHROMIUM"], FileManager.default.isExecutableFile(atPath: path) { return path }
        let dirs = (env["PATH"] ?? "/usr/bin:/bin").split(separator: ":").map(String.init)
        for name in ["chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome", "headless_shell"] {
            for dir in dirs where FileManager.default.isExecutableFile(atPath: "\(dir)/\(name)") { return "\(dir)/\(name)" }
        }
        return nil
    }

    init(executable: String, profile: String) throws {
        logPath = profile + ".log"
        // Our ends are close-on-exec and far from 3 and 4, so only the dup2'd copies reach the browser.
        func pipePair() throws -> (read: Int32, write: Int32) {
            var fds: [Int32] = [0, 0]
            guard pipe(&fds) == 0 else { throw BrowserTestError("pipe: \(String(cString: strerror(errno)))") }
            let r = fcntl(fds[0], F_DUPFD_CLOEXEC, 10)
            let w = fcntl(fds[1], F_DUPFD_CLOEXEC, 10)
            closeDescriptor(fds[0])
            closeDescriptor(fds[1])
            return (r, w)
        }
        let input = try pipePair()  // we write, the browser reads on fd 3
        let output = try pipePair()  // the browser writes on fd 4, we read

        let arguments = [
            executable, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            "--remote-debugging-pipe", "--user-data-dir=\(profile)", "--no-first-run", "--no-default-browser-check",
            "--disable-extensions", "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--no-proxy-server", "--disable-background-timer-throttling", "--disable-renderer-backgrounding",
            "--disable-backgrounding-occluded-windows", "--hide-scrollbars", "--mute-audio", "about:blank",
        ]
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, logPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, input.read, 3)
        posix_spawn_file_actions_adddup2(&actions, output.write, 4)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // Its own process group, so that closing kills the renderers too.
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP))
        posix_spawnattr_setpgroup(&attributes, 0)
        let argv = arguments.map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, executable, &actions, &attributes, argv, environ)
        closeDescriptor(input.read)
        closeDescriptor(output.write)
        guard rc == 0 else {
            closeDescriptor(input.write)
            closeDescriptor(output.read)
            throw BrowserTestError("posix_spawn(\(executable)): \(String(cString: strerror(rc)))")
        }
        self.pid = pid
        toBrowser = input.write
        fromBrowser = output.read
        let reader = Thread { [self] in readLoop() }
        reader.name = "chromium-cdp-reader"
        reader.start()
        _ = try send("Browser.getVersion", timeout: 20)
    }

    private func readLoop() {
        var pending = Data()
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = read(fromBrowser, &buffer, buffer.count)
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            pending.append(contentsOf: buffer[0..<n])
            while let end = pending.firstIndex(of: 0) {
                let message = pending[pending.startIndex..<end]
                pending = Data(pending[(end + 1)...])
                guard let object = try? JSONSerialization.jsonObject(with: message) as? [String: Any] else { continue }
                condition.lock()
                if let id = object["id"] as? Int {
                    responses[id] = object
                } else {
                    events.append(object)
                }
                condition.broadcast()
                condition.unlock()
            }
        }
        condition.lock()
        closed = true
        condition.broadcast()
        condition.unlock()
    }

    /// Sends one command and waits for its answer; throws on a protocol error.
    @discardableResult
    func send(_ method: String, _ params: [String: Any] = [:], session: String? = nil, timeout: TimeInterval = 10) throws
        -> [String: Any]
    {
        condition.lock()
        nextID += 1
        let id = nextID
        condition.unlock()
        var message: [String: Any] = ["id": id, "method": method, "params": params]
        if let session { message["sessionId"] = session }
        var bytes = [UInt8](try JSONSerialization.data(withJSONObject: message))
        bytes.append(0)
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { write(toBrowser, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw BrowserTestError("write to Chromium (\(method)): \(String(cString: strerror(errno)))") }
            offset += n
        }
        let deadline = Date().addingTimeInterval(timeout)
        condition.lock()
        defer { condition.unlock() }
        while responses[id] == nil {
            if closed { throw BrowserTestError("Chromium went away during \(method); its log: \(browserLog())") }
            if !condition.wait(until: deadline) { throw BrowserTestError("no answer from Chromium to \(method) within \(timeout) s") }
        }
        let response = responses.removeValue(forKey: id)!
        if let error = response["error"] { throw BrowserTestError("\(method): \(error)") }
        return response["result"] as? [String: Any] ?? [:]
    }

    /// A new visible page (its own window, so it is never a hidden background tab) at `url`.
    func open(_ url: String, network: Bool = false) throws -> BrowserPage {
        let target = try send("Target.createTarget", ["url": "about:blank", "newWindow": true])
        guard let targetID = target["targetId"] as? String else { throw BrowserTestError("Target.createTarget: \(target)") }
        let attached = try send("Target.attachToTarget", ["targetId": targetID, "flatten": true])
        guard let session = attached["sessionId"] as? String else { throw BrowserTestError("Target.attachToTarget: \(attached)") }
        let page = BrowserPage(browser: self, session: session, url: url)
        try send("Runtime.enable", session: session)
        try send("Log.enable", session: session)
        try send("Page.enable", session: session)
        if network { try send("Network.enable", session: session) }
        try send("Page.navigate", ["url": url], session: session)
        try page.waitFor("\(url) to load", timeout: 15, "document.readyState === 'complete' && location.href !== 'about:blank'")
        return page
    }

    /// Console errors, uncaught exceptions and failed loads reported so far, one line each.
    func consoleProblems() -> [String] {
        condition.lock()
        defer { condition.unlock() }
        return events.compactMap { event in
            let params = event["params"] as? [String: Any] ?? [:]
            switch event["method"] as? String {
            case "Runtime.exceptionThrown":
                let details = params["exceptionDetails"] as? [String: Any] ?? [:]
                let exception = details["exception"] as? [String: Any] ?? [:]
                return "exception: \(exception["description"] ?? details["text"] ?? details)"
            case "Runtime.consoleAPICalled" where params["type"] as? String == "error":
                let args = (params["args"] as? [[String: Any]] ?? []).map { "\($0["value"] ?? $0["description"] ?? "")" }
                return "console.error: \(args.joined(separator: " "))"
            case "Log.entryAdded":
                let entry = params["entry"] as? [String: Any] ?? [:]
                guard entry["level"] as? String == "error" else { return nil }
                return "log: \(entry["text"] ?? "") \(entry["url"] ?? "")"
            default:
                return nil
            }
        }
    }

    /// The response headers of every response seen (with `network: true`) whose URL contains `part`.
    func responseHeaders(urlContaining part: String) -> [[String: String]] {
        condition.lock()
        defer { condition.unlock() }
        return events.compactMap { event in
            guard event["method"] as? String == "Network.responseReceived",
                let response = (event["params"] as? [String: Any])?["response"] as? [String: Any],
                (response["url"] as? String)?.contains(part) == true
            else { return nil }
            return (response["headers"] as? [String: Any] ?? [:]).mapValues { "\($0)" }
        }
    }

    func browserLog() -> String {
        (try? String(contentsOfFile: logPath, encoding: .utf8)).map { String($0.suffix(2000)) } ?? ""
    }

    func close() {
        _ = try? send("Browser.close", timeout: 3)
        sendSignal(-pid, SIGKILL)  // the whole process group
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        closeDescriptor(toBrowser)
        closeDescriptor(fromBrowser)
    }
}

/// One page (a CDP session) in the browser.
private struct BrowserPage {
    let browser: Chromium
    let session: String
    let url: String

    /// Evaluates JavaScript in the page; the value comes back as JSON.
    func evaluate(_ expression: String, awaitPromise: Bool = false, timeout: TimeInterval = 10) throws -> Any? {
        let result = try browser.send(
            "Runtime.evaluate",
            ["expression": expression, "returnByValue": true, "awaitPromise": awaitPromise],
            session: session, timeout: timeout)
        if let details = result["exceptionDetails"] as? [String: Any] {
            let exception = details["exception"] as? [String: Any] ?? [:]
            throw BrowserTestError("JavaScript threw in \(url): \(exception["description"] ?? details["text"] ?? details)")
        }
        return (result["result"] as? [String: Any])?["value"]
    }

    func string(_ expression: String) throws -> String? { try evaluate(expression) as? String }
    func strings(_ expression: String) throws -> [String] { try evaluate(expression) as? [String] ?? [] }
    func int(_ expression: String) throws -> Int { (try evaluate(expression) as? NSNumber)?.intValue ?? 0 }

    /// Waits until the JavaScript `condition` is true: the page polls it every 50 ms
    /// and answers as soon as it holds, or with false at the deadline.
    func waitFor(_ what: String, timeout: TimeInterval, _ condition: String) throws {
        let deadline = Date().addingTimeInterval(timeout)
        let ms = Int(timeout * 1000)
        let poll = """
            new Promise(resolve => { const t0 = Date.now(); (function check() {
              let ok = false; try { ok = !!(\(condition)); } catch (e) {}
              if (ok) resolve(true); else if (Date.now() - t0 > \(ms)) resolve(false); else setTimeout(check, 50); })(); })
            """
        var lastError: Error? = nil
        // The evaluation fails while a navigation replaces the document: try again until the deadline.
        while Date() < deadline {
            do {
                if try evaluate(poll, awaitPromise: true, timeout: deadline.timeIntervalSinceNow + 5) as? Bool == true { return }
                break
            } catch {
                lastError = error
                usleep(100_000)
            }
        }
        let state = (try? string(
            "JSON.stringify({state: document.documentElement.dataset, note: (document.getElementById('conn-note')||{}).textContent})"))
        throw BrowserTestError(
            "timed out after \(timeout) s waiting for \(what) in \(url); page: \(state.flatMap { $0 } ?? "?")"
                + (lastError.map { "; last error: \($0)" } ?? ""))
    }

    /// POST /events/{channel} from the page (text/plain, one event); returns the id the server gave it.
    func publish(channel: String, body: String, query: String = "") throws -> String {
        let script = """
            fetch('/events/\(channel)\(query)', {method: 'POST', headers: {'Content-Type': 'text/plain'}, body: \(Self.jsString(body))})
              .then(async r => JSON.stringify({status: r.status, body: await r.text()}))
            """
        guard let answer = try evaluate(script, awaitPromise: true) as? String,
            let object = try JSONSerialization.jsonObject(with: Data(answer.utf8)) as? [String: Any]
        else { throw BrowserTestError("publishing \(body) gave no answer") }
        let status = object["status"] as? Int ?? 0
        let text = object["body"] as? String ?? ""
        guard status == 200,
            let json = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any],
            let ids = json["ids"] as? [Any], ids.count == 1
        else { throw BrowserTestError("POST /events/\(channel)\(query) \(body): HTTP \(status) \(text), expected 200 {\"ids\":[ID]}") }
        return "\(ids[0])"
    }

    /// A PNG of the page at the given viewport size.
    func screenshot(to path: String, width: Int, height: Int) throws {
        try browser.send(
            "Emulation.setDeviceMetricsOverride",
            ["width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600], session: session)
        // Two frames, so that the layout and the canvases follow the new size.
        _ = try evaluate(
            "new Promise(r => requestAnimationFrame(() => requestAnimationFrame(() => r(true))))", awaitPromise: true)
        let shot = try browser.send("Page.captureScreenshot", ["format": "png"], session: session)
        guard let base64 = shot["data"] as? String, let data = Data(base64Encoded: base64) else {
            throw BrowserTestError("Page.captureScreenshot returned no data")
        }
        try FileManager.default.createDirectory(
            at: URL(fileURLWithPath: path).deletingLastPathComponent(), withIntermediateDirectories: true)
        try data.write(to: URL(fileURLWithPath: path))
    }

    static func jsString(_ s: String) -> String {
        String(decoding: try! JSONSerialization.data(withJSONObject: [s]), as: UTF8.self).dropFirst().dropLast().description
    }
}
