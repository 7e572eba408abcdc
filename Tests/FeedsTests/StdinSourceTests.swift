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
