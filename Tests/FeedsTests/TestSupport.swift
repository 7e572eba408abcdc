import EventStream
import Foundation
import Glibc
import Reactor

/// What a test sees of a channel: every buffered event's type and data, in order.
struct Seen: Equatable, CustomStringConvertible {
    var type: String
    var data: String
    var description: String { "\(type): \(data.debugDescription)" }
}

func events(_ hub: Hub, _ channel: String) -> [Seen] {
    let group = hub.group(0)
    let result = try! hub.subscribe(group, to: [channel], after: .zero)
    let window = result.windows[0]
    var seen: [Seen] = []
    var sequence = result.cursors[0]
    while sequence < window.end {
        var type = "message"
        var data: [Substring] = []
        for line in window.event(at: sequence).bodyString.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("data: ") { data.append(line.dropFirst(6)) }
            if line == "data:" { data.append("") }
            if line.hasPrefix("event: ") { type = String(line.dropFirst(7)) }
        }
        seen.append(Seen(type: type, data: data.joined(separator: "\n")))
        sequence += 1
    }
    hub.unsubscribe(group, from: window)
    return seen
}

func datas(_ hub: Hub, _ channel: String) -> [String] { events(hub, channel).map(\.data) }

/// Polls `condition` every 10 ms for up to `timeout` seconds.
@discardableResult
func waitUntil(timeout: Double = 5, _ condition: () -> Bool) -> Bool {
    let deadline = Date(timeIntervalSinceNow: timeout)
    while Date() < deadline {
        if condition() { return true }
        usleep(10_000)
    }
    return condition()
}

/// A fresh directory under the system's temporary directory, removed by `remove()`.
struct TemporaryDirectory {
    let path: String

    init() {
        path = NSTemporaryDirectory() + "/feeds-test-" + UUID().uuidString
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    func remove() { try? FileManager.default.removeItem(atPath: path) }
}

/// Appends text to a file (creating it), as a logging process would.
func append(_ text: String, to path: String) {
    let fd = open(path, O_WRONLY | O_APPEND | O_CREAT, 0o644)
    guard fd >= 0 else { return }
    writeAll(fd, text)
    close(fd)
}

func writeAll(_ fd: Int32, _ text: String) {
    let bytes = Array(text.utf8)
    var offset = 0
    while offset < bytes.count {
        let n = bytes[offset...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        if n <= 0 { return }
        offset += n
    }
}

/// A logger writing to a temporary file the test can read.
final class CapturedLog: @unchecked Sendable {
    let path: String
    let logger: Logger
    private let fd: Int32

    init(level: Logger.Level = .debug) {
        path = NSTemporaryDirectory() + "/feeds-log-" + UUID().uuidString
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0o644)
        logger = Logger(level: level, fd: fd, timestamps: false)
    }

    var text: String { (try? String(contentsOfFile: path, encoding: .utf8)) ?? "" }

    deinit {
        close(fd)
        unlink(path)
    }
}

/// The built `sse-serve` binary beside the test bundle, if there is one.
func sseServeBinary() -> URL? {
    var candidates: [URL] = []
    var folder = Bundle.main.bundleURL
    for _ in 0..<4 {
        candidates.append(folder.appendingPathComponent("sse-serve"))
        folder = folder.deletingLastPathComponent()
    }
    candidates += Bundle.allBundles.map { $0.bundleURL.deletingLastPathComponent().appendingPathComponent("sse-serve") }
    return candidates.first { FileManager.default.isExecutableFile(atPath: $0.path) }
}

/// True while `pid` is a process that has not exited (a zombie waiting for
/// its reaper has exited).
func isRunning(_ pid: pid_t) -> Bool {
    guard kill(pid, 0) == 0 else { return false }
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
        let close = stat.lastIndex(of: ")")
    else { return false }
    return !stat[stat.index(after: close)...].hasPrefix(" Z")
}
