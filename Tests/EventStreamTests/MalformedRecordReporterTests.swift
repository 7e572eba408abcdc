import Foundation
import Glibc
import Reactor
import Synchronization
import Testing

@testable import EventStream

/// A clock the test moves by hand.
private final class FakeClock: Sendable {
    private let now = Atomic<UInt64>(1_000_000_000)
    func advance(seconds: Double) { now.add(UInt64(seconds * 1e9), ordering: .relaxed) }
    var read: @Sendable () -> UInt64 { { self.now.load(ordering: .relaxed) } }
}

/// The lines a logger wrote, read back from its file.
private final class LogFile {
    let path = NSTemporaryDirectory() + "/reporter-log-" + UUID().uuidString
    let logger: Logger
    private let fd: Int32

    init() {
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0o644)
        logger = Logger(level: .info, fd: fd, timestamps: false)
    }

    var lines: [String] {
        ((try? String(contentsOfFile: path, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }

    deinit {
        close(fd)
        unlink(path)
    }
}

@Suite("Malformed record reports")
struct MalformedRecordReporterTests {
    private func bad(_ line: Int) -> RecordError { RecordError(line: line, message: "not valid JSON") }

    @Test("the first is reported at once; a flood is one line a second with a count and the latest reason")
    func flood() {
        let clock = FakeClock()
        let log = LogFile()
        var reporter = MalformedRecordReporter(name: "stdin@in", logger: log.logger, clock: clock.read)
        reporter.report(bad(1))
        #expect(log.lines == ["sse-serve: warning: stdin@in: skipped a malformed record at line 1: not valid JSON"])
        for line in 2...1234 { reporter.report(bad(line)) }
        reporter.tick()
        #expect(log.lines.count == 1, "nothing more within the second")
        clock.advance(seconds: 1)
        reporter.report(bad(1235))
        #expect(log.lines.count == 2)
        #expect(log.lines.last == "sse-serve: warning: stdin@in: skipped 1234 malformed records in the last second; latest at line 1235: not valid JSON")
        #expect(reporter.total == 1235)
    }

    @Test("a count still owed is written by tick once due, and by flush at once")
    func tickAndFlush() {
        let clock = FakeClock()
        let log = LogFile()
        var reporter = MalformedRecordReporter(name: "x", logger: log.logger, clock: clock.read)
        reporter.report(bad(1))
        reporter.report(bad(2))
        clock.advance(seconds: 0.5)
        reporter.tick()
        #expect(log.lines.count == 1)
        clock.advance(seconds: 0.5)
        reporter.tick()
        #expect(log.lines.last == "sse-serve: warning: x: skipped 1 malformed record in the last second; latest at line 2: not valid JSON")
        reporter.report(bad(3))
        reporter.flush()
        #expect(log.lines.count == 3)
        #expect(log.lines.last?.contains("skipped 1 malformed record in the last second; latest at line 3") == true)
        reporter.flush()
        #expect(log.lines.count == 3, "nothing owed, nothing written")
    }

    @Test("after a quiet second a bad record is reported at once again, with its line")
    func quietThenOne() {
        let clock = FakeClock()
        let log = LogFile()
        var reporter = MalformedRecordReporter(name: "x", logger: log.logger, clock: clock.read)
        reporter.report(bad(1))
        clock.advance(seconds: 5)
        reporter.report(bad(9))
        #expect(log.lines.count == 2)
        #expect(log.lines.last == "sse-serve: warning: x: skipped a malformed record at line 9: not valid JSON")
    }

    @Test("a count owed across a long pause says how long it covers")
    func longPause() {
        let clock = FakeClock()
        let log = LogFile()
        var reporter = MalformedRecordReporter(name: "x", logger: log.logger, clock: clock.read)
        reporter.report(bad(1))
        reporter.report(bad(2))
        clock.advance(seconds: 7)
        reporter.report(bad(3))
        #expect(log.lines.last == "sse-serve: warning: x: skipped 2 malformed records in the last 7 s; latest at line 3: not valid JSON")
    }
}
