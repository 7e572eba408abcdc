import EventStream
import Foundation
import RESP
import Reactor
import TestKit
import XCTest

@testable import RedisBackend

final class RedisEventLogTests: XCTestCase {
    private var loopThread: LoopThread!
    private var clients: [RedisClient] = []
    private var states: [ObjectIdentifier: Inbox<RedisClient.State>] = [:]

    override func setUpWithError() throws {
        loopThread = try LoopThread()
    }

    override func tearDown() {
        let clients = self.clients
        _ = try? loopThread.sync { for client in clients { client.close() } }
        loopThread.stop()
        loopThread = nil
    }

    private func makeClient(_ url: RedisURL) throws -> RedisClient {
        var configuration = RedisClient.Configuration(url: url)
        configuration.connectTimeoutNanos = 500_000_000
        configuration.minBackoffNanos = 20_000_000
        configuration.maxBackoffNanos = 200_000_000
        let client = try RedisClient(configuration: configuration, loop: loopThread.loop)
        let inbox = Inbox<RedisClient.State>()
        try loopThread.sync {
            client.onStateChange = { inbox.put($0) }
            client.start()
        }
        clients.append(client)
        states[ObjectIdentifier(client)] = inbox
        return client
    }

    /// A loaded event log on `server` with its own two connections.
    private func makeLog(_ server: RedisServer, configure: (inout RedisEventLog.Configuration) -> Void = { _ in }) throws -> RedisEventLog {
        var configuration = RedisEventLog.Configuration()
        configure(&configuration)
        let log = RedisEventLog(commands: try makeClient(server.url), follower: try makeClient(server.url), configuration: configuration)
        try wait { log.load(done: $0) }.get()
        return log
    }

    /// Waits until the log's connections have noticed a restart and are up again.
    private func waitReconnected(_ log: RedisEventLog) throws {
        for client in [log.commands, log.follower] {
            let inbox = states[ObjectIdentifier(client)]!
            try inbox.next(where: { if case .down = $0 { true } else { false } })
            try inbox.next(where: { $0 == .up })
        }
    }

    /// Starts an operation on the loop and waits for its completion.
    private func wait<T>(_ start: @escaping (@escaping (T) -> Void) -> Void) throws -> T {
        let inbox = Inbox<T>()
        try loopThread.sync { start { inbox.put($0) } }
        return try inbox.next()
    }

    private func append(_ log: RedisEventLog, _ events: [NumberedEvent.Fields], floor: EventID? = nil) throws -> Result<[EventID], RedisError> {
        try wait { done in log.append(events, deadlineMs: log.deadline(inMillis: 5_000), floor: floor, done: done) }
    }

    private func streamIDs(_ server: RedisServer, _ key: String) throws -> [String] {
        try server.command(["XRANGE", key, "-", "+"]).array?.compactMap { $0.array?.first?.string } ?? []
    }

    func testAppendsGiveRisingUniqueIdsAcrossClientsWithTheSameIdInLogAndChannel() throws {
        let server = try RedisServer()
        let a = try makeLog(server)
        let b = try makeLog(server)
        var all: [EventID] = []
        for round in 0..<20 {
            let log = round % 2 == 0 ? a : b
            let got = try append(log, [("news", "message", "n\(round)"), ("sport", "goal", "s\(round)"), ("news", "message", "m\(round)")]).get()
            XCTAssertEqual(got.count, 3)
            XCTAssertEqual(got, got.sorted())
            all += got
        }
        XCTAssertEqual(all, all.sorted(), "ids rise from batch to batch, whichever client appended")
        XCTAssertEqual(Set(all).count, all.count)
        let logIDs = try streamIDs(server, "sse:log")
        XCTAssertEqual(logIDs, all.map(\.description))
        let newsIDs = try streamIDs(server, "sse:ch:news")
        XCTAssertEqual(newsIDs.count, 40)
        XCTAssertTrue(Set(newsIDs).isSubset(of: Set(logIDs)), "a channel's ids are the log's")
        let entry = try server.command(["XRANGE", "sse:ch:sport", "-", "+", "COUNT", "1"]).array?.first?.array
        XCTAssertEqual(entry?[1], .array([.bulk("type"), .bulk("goal"), .bulk("data"), .bulk("s0")]))
        // Idle channels expire.
        let ttl = try server.command(["TTL", "sse:ch:news"]).integer ?? 0
        XCTAssertTrue(ttl > 86_000 && ttl <= 86_400, "\(ttl)")
    }

    func testADeadlineInThePastIsRefusedAndNothingIsAppended() throws {
        let server = try RedisServer()
        let log = try makeLog(server)
        let result = try wait { done in log.append([("news", "message", "late")], deadlineMs: log.deadline(inMillis: 0) - 1_000, floor: nil, done: done) }
        guard case .failure(.server(let text)) = result else { return XCTFail("\(result)") }
        XCTAssertTrue(text.hasPrefix("EXPIRED"), text)
        XCTAssertEqual(try server.command(["EXISTS", "sse:log", "sse:ch:news"]), .integer(0))
    }

    func testReadsTheLogFromACursorAndWaitsForNewEvents() throws {
        let server = try RedisServer()
        let log = try makeLog(server)
        let first = try append(log, [("a", "message", "1"), ("b", "message", "2"), ("a", "t", "3")]).get()
        let read = try wait { log.readLog(after: first[0], count: 100, blockMs: 1_000, done: $0) }.get()
        XCTAssertEqual(read.events, [
            NumberedEvent(id: first[1], channel: "b", type: "message", data: "2"),
            NumberedEvent(id: first[2], channel: "a", type: "t", data: "3"),
        ])
        XCTAssertFalse(read.gap)
        XCTAssertEqual(read.next, first[2])
        // Nothing after the cursor yet: the read waits, and an append ends the wait.
        let waiting = Inbox<Result<LogRead, RedisError>>()
        try loopThread.sync { log.readLog(after: first[2], count: 100, blockMs: 5_000) { waiting.put($0) } }
        let later = try append(log, [("c", "message", "4")]).get()
        let woken = try waiting.next().get()
        XCTAssertEqual(woken.events.map(\.id), later)
        // A read that times out with nothing new keeps its cursor.
        let idle = try wait { log.readLog(after: later[0], count: 100, blockMs: 50, done: $0) }.get()
        XCTAssertEqual(idle, LogRead(events: [], gap: false, lostThrough: nil, next: later[0]))
    }

    func testHistoryAfterAnIdAndGapsOnceTrimmed() throws {
        // Small stream nodes, so MAXLEN ~ trims close to the limit.
        let server = try RedisServer(arguments: ["--stream-node-max-entries", "4"])
        let log = try makeLog(server) {
            $0.channelMaxLength = 8
            $0.logMaxLength = 12
        }
        var ids: [EventID] = []
        for i in 0..<5 { ids += try append(log, [("news", "message", "\(i)")]).get() }
        let history = try wait { log.history(channel: "news", after: ids[2], count: 10, done: $0) }.get()
        XCTAssertEqual(history.events.map(\.data), ["3", "4"])
        XCTAssertEqual(history.events.map(\.id), Array(ids[3...]))
        XCTAssertTrue(history.complete)
        let all = try wait { log.history(channel: "news", after: .zero, count: 2, done: $0) }.get()
        XCTAssertEqual(all.events.map(\.data), ["0", "1"])
        XCTAssertTrue(all.complete)

        for i in 5..<40 { ids += try append(log, [("news", "message", "\(i)"), ("other", "message", "\(i)")]).get().prefix(1) }
        let length = try server.command(["XLEN", "sse:ch:news"]).integer ?? 0
        XCTAssertTrue(length >= 8 && length < 16, "\(length)")
        let trimmed = try wait { log.history(channel: "news", after: ids[0], count: 100, done: $0) }.get()
        XCTAssertFalse(trimmed.complete)
        XCTAssertEqual(trimmed.events.last?.id, ids.last)
        let recent = try wait { log.history(channel: "news", after: ids[36], count: 100, done: $0) }.get()
        XCTAssertTrue(recent.complete)
        XCTAssertEqual(recent.events.map(\.id), Array(ids[37...]))
        // A node far behind the log is told.
        let behind = try wait { log.readLog(after: ids[0], count: 1_000, blockMs: 100, done: $0) }.get()
        XCTAssertTrue(behind.gap)
        XCTAssertEqual(behind.events.first?.id, try streamIDs(server, "sse:log").first.flatMap { EventID(parsing: $0) })
        // A channel that does not exist: complete for a recent id, nothing to send.
        let quiet = try wait { log.history(channel: "quiet", after: ids[38], count: 100, done: $0) }.get()
        XCTAssertTrue(quiet.complete)
        XCTAssertEqual(quiet.events, [])
    }

    func testAChannelKeyMadeAfterAnExpiryMarksOlderIdsAsAGap() throws {
        let server = try RedisServer()
        let log = try makeLog(server) { $0.channelTTLSeconds = 3_600 }
        let first = try append(log, [("old", "message", "o")]).get()
        // As if the data set were days old.
        try server.command(["SET", "sse:origin", "1000-0"])
        let now = first[0].millis
        let fresh = try append(log, [("new", "message", "x")]).get()
        // An id from two hours ago may have missed events of an expired key of this channel...
        let stale = try wait { log.history(channel: "new", after: EventID(millis: now - 7_200_000, sequence: 0), count: 10, done: $0) }.get()
        XCTAssertFalse(stale.complete)
        // ...one from a second ago cannot have.
        let recent = try wait { log.history(channel: "new", after: EventID(millis: now - 1_000, sequence: 0), count: 10, done: $0) }.get()
        XCTAssertTrue(recent.complete)
        XCTAssertEqual(recent.events.map(\.id), fresh)
    }

    func testTheFunctionsSurviveARestartWithData() throws {
        let server = try RedisServer(persistent: true)
        let log = try makeLog(server)
        let before = try append(log, [("news", "message", "kept")]).get()
        try server.restart()
        try waitReconnected(log)
        let functions = try server.command(["FUNCTION", "LIST", "LIBRARYNAME", "ssesrv"])
        XCTAssertEqual(functions.array?.count, 1, "\(functions)")
        let after = try append(log, [("news", "message", "next")]).get()
        XCTAssertTrue(after[0] > before[0])
        let history = try wait { log.history(channel: "news", after: .zero, count: 10, done: $0) }.get()
        XCTAssertEqual(history.events.map(\.data), ["kept", "next"])
    }

    func testAnEmptiedRedisStillGivesRisingIdsAndOldIdsGetAGap() throws {
        let server = try RedisServer()
        let log = try makeLog(server)
        let old = try append(log, [("news", "message", "old")]).get()
        try server.restart(wipe: true)
        try waitReconnected(log)
        // Redis has lost the data and the library: it is loaded again, and the
        // floor (ahead of Redis's clock here) keeps ids rising.
        let floor = EventID(millis: old[0].millis + 60_000, sequence: 7)
        let fresh = try append(log, [("news", "message", "a"), ("news", "message", "b")], floor: floor).get()
        XCTAssertEqual(fresh, [EventID(millis: floor.millis, sequence: 8), EventID(millis: floor.millis, sequence: 9)])
        let history = try wait { log.history(channel: "news", after: old[0], count: 10, done: $0) }.get()
        XCTAssertFalse(history.complete, "an id from before Redis was emptied cannot be trusted")
        let read = try wait { log.readLog(after: EventID(millis: floor.millis + 1, sequence: 0), count: 10, blockMs: 50, done: $0) }.get()
        XCTAssertTrue(read.gap)
        XCTAssertEqual(read.next, .zero, "a cursor beyond the log restarts from its start")
        let reread = try wait { log.readLog(after: .zero, count: 10, blockMs: 50, done: $0) }.get()
        XCTAssertEqual(reread.events.map(\.data), ["a", "b"])
        XCTAssertFalse(reread.gap)
    }

    func testARedisWithoutFunctionsIsAClearError() throws {
        let fake = try FakeRedis(replies: [["+PONG\r\n", "-ERR unknown command 'FUNCTION', with args beginning with: 'LOAD' \r\n"]])
        defer { fake.stop() }
        let client = try makeClient(RedisURL(endpoint: .tcp(host: "127.0.0.1", port: fake.port)))
        let log = RedisEventLog(commands: client, follower: client)
        let result = try wait { log.load(done: $0) }
        XCTAssertEqual(result.mapError { $0 }.map { "ok" }, .failure(.server("Redis 7.0 or newer is needed (FUNCTION)")))
    }
}
