import EventStream
import Foundation
import CShim
import Glibc
import Reactor
import Testing

@testable import Feeds

/// A tail source on a file in a fresh directory, polling fast so that a test
/// also passes where inotify is unavailable.
private struct Tailing {
    let directory = TemporaryDirectory()
    let hub = Hub(bufferSize: 1000)
    let log = CapturedLog()
    let path: String
    let source: TailSource

    init(file: String = "app.log", existing: String? = nil, inotify: Bool = true) throws {
        path = directory.path + "/" + file
        if let existing { append(existing, to: path) }
        source = TailSource(
            path: path, channel: "log", options: SourceOptions(tailPollInterval: 0.05), name: nil, useInotify: inotify)
        try source.start(hub: hub, logger: log.logger)
        // Synchronise on its first look at the file, not on a sleep.
        let log = self.log
        #expect(waitUntil { log.text.contains("following") || log.text.contains("does not exist yet") })
    }

    var lines: [String] { datas(hub, "log") }

    func end() {
        source.stop()
        #expect(source.waitUntilStopped(timeout: 2))
        directory.remove()
    }
}

@Suite("Tail source")
struct TailSourceTests {
    @Test("starts at the end; appended lines become events; a partial line waits for its newline")
    func appends() throws {
        let t = try Tailing(existing: "old 1\nold 2\nhalf of a li")
        defer { t.end() }
        append("ne\nnew 1\nnew", to: t.path)
        #expect(waitUntil { t.lines == ["new 1"] })
        append(" 2\r\n", to: t.path)
        // "new" was read with "new 1" (one write); had it gone out alone, the
        // second event would be "new" and a third " 2".
        #expect(waitUntil { t.lines.count >= 2 })
        #expect(t.lines == ["new 1", "new 2"])
    }

    @Test("a file that does not exist yet is read from its beginning when it appears", arguments: [true, false])
    func appears(inotify: Bool) throws {
        let t = try Tailing(inotify: inotify)
        defer { t.end() }
        append("first\nsecond\n", to: t.path)
        #expect(waitUntil { t.lines == ["first", "second"] })
        #expect(t.log.text.contains("does not exist yet"))
    }

    @Test("rotation: the rest of the old file, then the new file from its beginning", arguments: [true, false])
    func rotation(inotify: Bool) throws {
        let t = try Tailing(existing: "", inotify: inotify)
        defer { t.end() }
        append("a\n", to: t.path)
        #expect(waitUntil { t.lines == ["a"] })
        // A writer that still holds the old file writes once more after the rename.
        let old = open(t.path, O_WRONLY | O_APPEND)
        #expect(rename(t.path, t.path + ".1") == 0)
        writeAll(old, "b\n")
        close(old)
        append("c\nd\n", to: t.path)
        #expect(waitUntil { t.lines == ["a", "b", "c", "d"] })
        append("e\n", to: t.path)
        #expect(waitUntil { t.lines == ["a", "b", "c", "d", "e"] })
    }

    @Test("truncation (copytruncate): reading starts again at the beginning", arguments: [true, false])
    func truncation(inotify: Bool) throws {
        let t = try Tailing(existing: "", inotify: inotify)
        defer { t.end() }
        append("one long line\ntwo long line\n", to: t.path)
        #expect(waitUntil { t.lines.count == 2 })
        #expect(truncate(t.path, 0) == 0)
        // Let it notice the truncation before the file grows again.
        #expect(waitUntil { t.log.text.contains("truncated") })
        append("x\n", to: t.path)
        #expect(waitUntil { t.lines == ["one long line", "two long line", "x"] })
    }

    @Test("a file deleted and created again later is followed again", arguments: [true, false])
    func recreated(inotify: Bool) throws {
        let t = try Tailing(existing: "", inotify: inotify)
        defer { t.end() }
        append("before\n", to: t.path)
        #expect(waitUntil { t.lines == ["before"] })
        #expect(unlink(t.path) == 0)
        #expect(waitUntil { t.log.text.contains("disappeared") })
        append("after\n", to: t.path)
        #expect(waitUntil { t.lines == ["before", "after"] })
    }

    @Test("json records in a tailed file")
    func jsonFormat() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.path + "/events.jsonl"
        let hub = Hub(bufferSize: 100)
        let log = CapturedLog()
        let source = TailSource(path: path, channel: "j", options: SourceOptions(format: .json, tailPollInterval: 0.05))
        try source.start(hub: hub, logger: log.logger)
        #expect(waitUntil { log.text.contains("does not exist yet") })
        defer {
            source.stop()
            _ = source.waitUntilStopped(timeout: 2)
        }
        append("{\"event\":\"e\",\"data\":[1]}\n", to: path)
        #expect(waitUntil { events(hub, "j") == [Seen(type: "e", data: "[1]")] })
    }

    @Test("a path that is a directory is reported once, not at every look")
    func directoryPath() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let log = CapturedLog()
        let opens = try DirectoryOpens(directory.path)
        let source = TailSource(path: directory.path, channel: "d", options: SourceOptions(tailPollInterval: 0.01))
        try source.start(hub: Hub(bufferSize: 10), logger: log.logger)
        #expect(waitUntil { log.text.contains("is a directory") })
        // Each look opens the path to find out what it is: count five more looks.
        let seen = opens.count()
        #expect(waitUntil { opens.count() >= seen + 5 })
        source.stop()
        #expect(source.waitUntilStopped(timeout: 2))
        #expect(log.text.components(separatedBy: "is a directory").count == 2)
        #expect(!log.text.contains("does not exist"))
    }
}

/// Counts the times a directory is opened (inotify `IN_OPEN` on the directory
/// itself), so a test can wait for a poller to have looked at it again.
private final class DirectoryOpens {
    private let fd: Int32
    private var seen = 0

    init(_ path: String) throws {
        fd = inotify_init1(Int32(IN_NONBLOCK) | Int32(IN_CLOEXEC))
        guard fd >= 0 else { throw SystemError("inotify_init1") }
        guard inotify_add_watch(fd, path, UInt32(IN_OPEN)) >= 0 else {
            close(fd)
            throw SystemError("inotify_add_watch")
        }
    }

    deinit { close(fd) }

    /// Opens seen so far.
    func count() -> Int {
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            guard n > 0 else { return seen }
            // inotify_event: wd, mask, cookie, len, then `len` bytes of name.
            var at = 0
            while at + 16 <= n {
                let length = buffer.withUnsafeBytes { Int($0.loadUnaligned(fromByteOffset: at + 12, as: UInt32.self)) }
                if buffer.withUnsafeBytes({ $0.loadUnaligned(fromByteOffset: at + 4, as: UInt32.self) }) & UInt32(IN_OPEN) != 0 {
                    seen += 1
                }
                at += 16 + length
            }
        }
    }
}
