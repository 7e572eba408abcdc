import EventStream
import Foundation
import Glibc
import Reactor
import Testing

@testable import Feeds

@Suite("Stdin source")
struct StdinSourceTests {
    @Test("lines written to the pipe become events; at EOF it says so and ends")
    func lines() throws {
        var fds: [Int32] = [-1, -1]
        #expect(pipe(&fds) == 0)
        defer { close(fds[0]) }
        let hub = Hub(bufferSize: 1000)
        let log = CapturedLog()
        let source = StdinSource(channel: "in", options: SourceOptions(standardInput: fds[0]))
        try source.start(hub: hub, logger: log.logger)
        writeAll(fds[1], "one\r\ntw")
        #expect(waitUntil { datas(hub, "in") == ["one"] })
        writeAll(fds[1], "o\n\nthree")
        #expect(waitUntil { datas(hub, "in") == ["one", "two"] })
        close(fds[1])
        #expect(waitUntil { datas(hub, "in") == ["one", "two", "three"] })
        #expect(source.waitUntilStopped(timeout: 2))
        #expect(log.text.contains("end of input after 3 events"))
    }

    @Test("json records route to their channels; a malformed one is reported with its line and skipped")
    func json() throws {
        var fds: [Int32] = [-1, -1]
        #expect(pipe(&fds) == 0)
        defer { close(fds[0]) }
        let hub = Hub(bufferSize: 1000)
        let log = CapturedLog()
        let source = StdinSource(channel: "in", options: SourceOptions(format: .json, standardInput: fds[0]))
        try source.start(hub: hub, logger: log.logger)
        writeAll(fds[1], "{\"data\":\"a\"}\n{oops\n{\"channel\":\"other\",\"event\":\"e\",\"data\":{\"x\":1}}\n")
        close(fds[1])
        #expect(source.waitUntilStopped(timeout: 5))
        #expect(events(hub, "in") == [Seen(type: "message", data: "a")])
        #expect(events(hub, "other") == [Seen(type: "e", data: "{\"x\":1}")])
        #expect(log.text.contains("line 2: not valid JSON"))
    }

    @Test("stop ends it while the writer is silent and the pipe stays open")
    func stopWhileIdle() throws {
        var fds: [Int32] = [-1, -1]
        #expect(pipe(&fds) == 0)
        defer {
            close(fds[0])
            close(fds[1])
        }
        let hub = Hub(bufferSize: 10)
        let source = StdinSource(channel: "idle", options: SourceOptions(standardInput: fds[0]))
        try source.start(hub: hub, logger: .silent)
        // Once this line is published the source is in its read loop, and then
        // waits on a pipe that stays open and silent: only the stop can end it.
        writeAll(fds[1], "ready\n")
        #expect(waitUntil { datas(hub, "idle") == ["ready"] })
        source.stop()
        #expect(source.waitUntilStopped(timeout: 5))
    }

    @Test("many lines arrive in order and in batches")
    func manyLines() throws {
        var fds: [Int32] = [-1, -1]
        #expect(pipe(&fds) == 0)
        defer { close(fds[0]) }
        let count = 50_000
        let hub = Hub(bufferSize: count)
        let source = StdinSource(channel: "bulk", options: SourceOptions(standardInput: fds[0]))
        try source.start(hub: hub, logger: .silent)
        let writer = fds[1]
        let thread = Thread {
            var text = ""
            for i in 0..<count { text += "line \(i)\n" }
            writeAll(writer, text)
            close(writer)
        }
        thread.start()
        #expect(source.waitUntilStopped(timeout: 10))
        let info = hub.channelInfos().first { $0.name == "bulk" }
        #expect(info?.published == UInt64(count))
        let all = datas(hub, "bulk")
        #expect(all.first == "line 0" && all.last == "line \(count - 1)")
    }
}

@Suite("Stdin source, malformed floods")
struct StdinMalformedFloodTests {
    @Test("10,000 malformed lines among good ones: every good line is published, the reports are few and count them all")
    func flood() throws {
        var fds: [Int32] = [-1, -1]
        #expect(pipe(&fds) == 0)
        defer { close(fds[0]) }
        let hub = Hub(bufferSize: 20_000)
        let log = CapturedLog()
        let source = StdinSource(channel: "in", options: SourceOptions(format: .json, standardInput: fds[0]))
        let started = Date()
        try source.start(hub: hub, logger: log.logger)
        var text = ""
        for i in 0..<10_000 {
            text += "{oops \(i)\n"
            if i % 10 == 0 { text += "{\"data\":\"good \(i / 10)\"}\n" }
        }
        writeAll(fds[1], text)
        close(fds[1])
        #expect(source.waitUntilStopped(timeout: 10))
        let seconds = Date().timeIntervalSince(started)
        #expect(datas(hub, "in") == (0..<1000).map { "good \($0)" })
        let reports = log.text.split(separator: "\n").filter { $0.contains("malformed record") && !$0.contains("end of input") }
        // One at once, then at most one a second, and the last count at the end of input.
        #expect(reports.count >= 1 && Double(reports.count) <= seconds + 3, "\(reports.count) report lines in \(seconds) s")
        #expect(reports.first?.contains("skipped a malformed record at line 1: not valid JSON") == true)
        let counted = reports.dropFirst().compactMap { line -> Int? in
            guard let range = line.range(of: "skipped ") else { return nil }
            return Int(line[range.upperBound...].prefix { $0.isNumber })
        }
        #expect(1 + counted.reduce(0, +) == 10_000, "every malformed line is counted once")
        #expect(log.text.contains("end of input after 1000 events (10000 malformed records skipped)"))
    }
}
