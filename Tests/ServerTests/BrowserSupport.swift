import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

// The harness the browser tests share: the built `sse-serve` as a process, and
// headless Chromium driven over the DevTools protocol on a pipe.

// MARK: - Failures

/// A failure of the harness itself, with what it was waiting for.
struct BrowserTestError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

// MARK: - Files and processes

/// kill(2), under a name that the `kill()` methods below do not hide.
func sendSignal(_ pid: pid_t, _ signal: Int32) { _ = kill(pid, signal) }

/// close(2), under a name that the `close()` method below does not hide.
func closeDescriptor(_ fd: Int32) { _ = close(fd) }

/// A directory under the system's temporary directory, removed at the end.
struct TemporaryDirectory {
    let url: URL
    init(_ prefix: String) throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }
    func remove() { try? FileManager.default.removeItem(at: url) }
}

/// A copy of the repository's `public/` in `directory`, plus `blank.html`: an
/// empty page of the same origin, for tests that run their own script there.
enum TestSite {
    static let blankPage = """
        <!doctype html>
        <html lang="en"><head><meta charset="utf-8"><link rel="icon" href="/favicon.svg" type="image/svg+xml">
        <title>blank</title></head><body></body></html>
        """

    static func make(in directory: URL) throws -> String {
        let fm = FileManager.default
        let source = BrowserTests.repo.appendingPathComponent("public")
        let site = directory.appendingPathComponent("public")
        try fm.copyItem(at: source, to: site)
        try blankPage.write(to: site.appendingPathComponent("blank.html"), atomically: true, encoding: .utf8)
        return site.path
    }
}

/// Finds the `sse-serve` executable that `swift build` / `swift test` made.
enum ServerBinary {
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
final class ServerProcess {
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
final class LockedText: @unchecked Sendable {
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
final class Chromium: @unchecked Sendable {
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
        let page = BrowserPage(browser: self, session: session, targetID: targetID, url: url)
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

    /// The headers of every request sent (with `network: true`) whose URL contains `part`, in order,
    /// as they went on the wire (`requestWillBeSentExtraInfo`: the browser's own, such as `Last-Event-ID`, included).
    func requestHeaders(urlContaining part: String) -> [[String: String]] {
        condition.lock()
        defer { condition.unlock() }
        let ids = events.compactMap { event -> String? in
            guard event["method"] as? String == "Network.requestWillBeSent",
                let params = event["params"] as? [String: Any],
                let request = params["request"] as? [String: Any],
                (request["url"] as? String)?.contains(part) == true
            else { return nil }
            return params["requestId"] as? String
        }
        var sent: [String: [String: String]] = [:]
        for event in events where event["method"] as? String == "Network.requestWillBeSentExtraInfo" {
            guard let params = event["params"] as? [String: Any], let id = params["requestId"] as? String else { continue }
            sent[id] = (params["headers"] as? [String: Any] ?? [:]).mapValues { "\($0)" }
        }
        return ids.compactMap { sent[$0] }
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
struct BrowserPage {
    let browser: Chromium
    let session: String
    let targetID: String
    let url: String

    /// Closes the page (its tab), as a person closing it would: its streams end.
    func close() throws {
        try browser.send("Target.closeTarget", ["targetId": targetID])
    }

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
    /// With `bearer` (a publish token or a JWT), the request carries `Authorization: Bearer BEARER`.
    func publish(channel: String, body: String, query: String = "", bearer: String? = nil) throws -> String {
        let auth = bearer.map { ", 'Authorization': \(Self.jsString("Bearer " + $0))" } ?? ""
        let script = """
            fetch('/events/\(channel)\(query)', {method: 'POST', headers: {'Content-Type': 'text/plain'\(auth)}, body: \(Self.jsString(body))})
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
