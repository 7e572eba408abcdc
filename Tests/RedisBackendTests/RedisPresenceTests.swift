import EventStream
import Foundation
import Presence
import RESP
import Reactor
import TestKit
import XCTest

@testable import RedisBackend

/// The presence functions of the `ssesrv` library, called directly as two or
/// three nodes would, and `RedisPresence` keeping a registry's share.
final class RedisPresenceTests: XCTestCase {
    private var redis: RedisServer!

    override func setUpWithError() throws {
        redis = try RedisServer()
        try redis.command(["FUNCTION", "LOAD", "REPLACE", EventLogFunctions.source])
    }

    override func tearDown() {
        redis?.stop()
        redis = nil
    }

    private let appendArguments = ["100000", "1000", "86400", "sse:ch:", "0"]

    /// One change: (channel, user or "", count or -1, info or "").
    private typealias Change = (channel: String, user: String, count: Int, info: String)

    private struct Answer {
        var resync: Bool
        /// `name channel user` (user `-` for channel events).
        var hooks: [String]
    }

    private func parse(_ value: RESPValue) throws -> Answer {
        let parts = try XCTUnwrap(value.array, "\(value)")
        XCTAssertEqual(parts.count, 3)
        let flat = try XCTUnwrap(parts[1].array)
        var hooks: [String] = []
        for index in stride(from: 0, to: flat.count, by: 3) {
            let user = flat[index + 2].string ?? ""
            hooks.append("\(flat[index].string ?? "?") \(flat[index + 1].string ?? "?") \(user.isEmpty ? "-" : user)")
        }
        return Answer(resync: parts[0].integer == 1, hooks: hooks)
    }

    @discardableResult
    private func report(_ node: String, ttlMillis: Int = 10_000, _ changes: [Change]) throws -> Answer {
        var arguments = ["FCALL", "ssesrv_presence", "3", "sse:log", "sse:origin", "sse:pr:nodes", node, String(ttlMillis), "sse:pr:"] + appendArguments
        for change in changes {
            let data = change.user.isEmpty ? "" : PresenceEvent.memberJSON(user: change.user, info: change.info.isEmpty ? nil : change.info)
            arguments += [change.channel, change.user, String(change.count), change.info, data]
        }
        return try parse(try redis.command(arguments))
    }

    private func sweep() throws -> Answer {
        try parse(try redis.command(["FCALL", "ssesrv_presence_sweep", "3", "sse:log", "sse:origin", "sse:pr:nodes", "sse:pr:"] + appendArguments))
    }

    /// `type user` of every event of `presence/room`, with the ids.
    private func presenceEvents(_ channel: String = "room") throws -> [(id: String, text: String)] {
        let entries = try redis.command(["XRANGE", "sse:ch:presence/\(channel)", "-", "+"]).array ?? []
        return try entries.map { entry in
            let pair = try XCTUnwrap(entry.array)
            let fields = try XCTUnwrap(pair[1].array).compactMap(\.string)
            let data = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(fields[3].utf8)) as? [String: Any])
            return (try XCTUnwrap(pair[0].string), "\(fields[1]) \(data["user"] as? String ?? "?")")
        }
    }

    private func snapshot(_ channel: String = "room") throws -> PresenceSnapshot {
        let value = try redis.command(["FCALL_RO", "ssesrv_presence_snapshot", "1", "sse:ch:presence/\(channel)", "sse:pr:", channel])
        let parts = try XCTUnwrap(value.array)
        let flat = try XCTUnwrap(parts[2].array)
        var users: [PresenceSnapshot.User] = []
        for index in stride(from: 0, to: flat.count, by: 3) {
            let info = flat[index + 1].string ?? ""
            users.append(.init(user: flat[index].string ?? "?", info: info.isEmpty ? nil : info, connections: Int(flat[index + 2].integer ?? -1)))
        }
        return PresenceSnapshot(
            channel: channel, lastEventID: try XCTUnwrap(parts[0].string), connections: Int(parts[1].integer ?? -1),
            users: users.sorted { $0.user < $1.user })
    }

    func testAUserOnTwoNodesJoinsOnceAndLeavesOnlyWhenGoneFromBoth() throws {
        XCTAssertEqual(try report("a", [("room", "", 1, ""), ("room", "ana", 1, "{\"n\":1}")]).hooks, ["channel_occupied room -", "member_added room ana"])
        XCTAssertEqual(try report("b", [("room", "", 2, ""), ("room", "ana", 2, "{\"n\":2}")]).hooks, [])
        let both = try snapshot()
        XCTAssertEqual(both.connections, 3)
        XCTAssertEqual(both.users, [.init(user: "ana", info: "{\"n\":2}", connections: 3)])
        XCTAssertEqual(try report("a", [("room", "ana", -1, ""), ("room", "", -1, "")]).hooks, [])
        // Within b's grace: still present, with no connection.
        XCTAssertEqual(try report("b", [("room", "", 0, ""), ("room", "ana", 0, "{\"n\":2}")]).hooks, [])
        XCTAssertEqual(try snapshot().users, [.init(user: "ana", info: "{\"n\":2}", connections: 0)])
        XCTAssertEqual(try presenceEvents().map(\.text), ["join ana"])
        XCTAssertEqual(try report("b", [("room", "ana", -1, ""), ("room", "", -1, "")]).hooks, ["member_removed room ana", "channel_vacated room -"])
        let events = try presenceEvents()
        XCTAssertEqual(events.map(\.text), ["join ana", "leave ana"])
        let empty = try snapshot()
        XCTAssertEqual(empty.connections, 0)
        XCTAssertEqual(empty.users, [])
        XCTAssertEqual(empty.lastEventID, events.last?.id, "the snapshot's id is the newest presence event's")
        XCTAssertEqual(try snapshot("other").lastEventID, "0")
        // The log carries them too, for every node's follower.
        let log = try redis.command(["XRANGE", "sse:log", "-", "+"]).array?.compactMap { $0.array?.first?.string }
        XCTAssertEqual(log, events.map(\.id))
        XCTAssertEqual(try redis.command(["KEYS", "sse:pr:[cmud]:*"]).array?.count, 0, "nothing is left behind")
    }

    func testAnExpiredNodeIsSweptOnceItsUsersLeaveAndTheOthersStay() throws {
        try report("dead", ttlMillis: 0, [("room", "", 1, ""), ("room", "ana", 1, ""), ("room", "ben", 1, "")])
        try report("alive", [("room", "", 1, ""), ("room", "ben", 1, "")])
        try report("gone", ttlMillis: 0, [("lobby", "", 1, ""), ("lobby", "cy", 1, "")])
        // Two sweepers: the first takes every expired node, the second finds none.
        let first = try sweep()
        let second = try sweep()
        XCTAssertEqual(first.hooks.sorted(), ["channel_vacated lobby -", "member_removed lobby cy", "member_removed room ana"])
        XCTAssertEqual(second.hooks, [])
        XCTAssertEqual(try presenceEvents().map(\.text), ["join ana", "join ben", "leave ana"])
        XCTAssertEqual(try presenceEvents("lobby").map(\.text), ["join cy", "leave cy"])
        XCTAssertEqual(try snapshot().users, [.init(user: "ben", info: nil, connections: 1)])
        XCTAssertEqual(try snapshot().connections, 1)
        // A swept node that speaks again learns it must send its whole share.
        XCTAssertTrue(try report("dead", []).resync)
        XCTAssertFalse(try report("alive", []).resync)
    }

    func testAGracefulStopLapsesAfterTheGraceAndAReconnectElsewhereMakesNoLeave() throws {
        try report("a", [("room", "", 1, ""), ("room", "ana", 1, "")])
        // a stops: its streams closed (ana within the grace), its share lapses at once here (grace 0).
        try report("a", ttlMillis: 0, [("room", "", 0, ""), ("room", "ana", 0, "")])
        try report("b", [("room", "", 1, ""), ("room", "ana", 1, "")])
        XCTAssertEqual(try sweep().hooks, [])
        XCTAssertEqual(try presenceEvents().map(\.text), ["join ana"])
        XCTAssertEqual(try snapshot().users, [.init(user: "ana", info: nil, connections: 1)])
    }

    // MARK: - RedisPresence

    /// A registry whose share `RedisPresence` keeps in Redis, on a store of its own.
    private final class Node {
        let loopThread: LoopThread
        let store: RedisStore
        let presence: RedisPresence
        let registry: PresenceRegistry
        let webhooks = Inbox<WebhookEvent>()

        init(_ server: RedisServer, id: String, ttlMillis: UInt64 = 1_000) throws {
            loopThread = try LoopThread()
            var configuration = RedisStore.Configuration(url: server.url)
            configuration.blockMillis = 200
            configuration.client.minBackoffNanos = 20_000_000
            configuration.client.maxBackoffNanos = 200_000_000
            store = try RedisStore(configuration: configuration, loop: loopThread.loop)
            var presenceConfiguration = RedisPresence.Configuration(nodeID: id)
            presenceConfiguration.ttlMillis = ttlMillis
            presenceConfiguration.leaveGraceMillis = 0
            let presence = RedisPresence(store: store, configuration: presenceConfiguration)
            self.presence = presence
            registry = PresenceRegistry(leaveGrace: 0, clock: { Clock.monotonicNanos() }, onChange: { presence.changed($0) }, output: { _ in })
            store.start(from: .zero)
            let webhooks = self.webhooks
            presence.start(registry: registry, webhooks: { webhooks.put($0) })
        }

        func snapshot(_ channel: String = "room") throws -> Result<PresenceSnapshot, PresenceUnavailable> {
            let answer = Inbox<Result<PresenceSnapshot, PresenceUnavailable>>()
            presence.snapshot(channel) { answer.put($0) }
            return try answer.next()
        }

        /// Asks until `done` holds (at most 5 s).
        func waitForSnapshot(until done: (PresenceSnapshot) -> Bool) throws -> PresenceSnapshot? {
            let deadline = Date().addingTimeInterval(5)
            while true {
                if case .success(let snapshot) = try self.snapshot(), done(snapshot) { return snapshot }
                if Date() > deadline { return nil }
                usleep(10_000)
            }
        }

        func stop() {
            store.stop()
            _ = try? loopThread.sync {}
            loopThread.stop()
        }
    }

    func testRedisPresenceSumsTwoNodesAndResendsItsShareAfterRedisIsEmptied() throws {
        let a = try Node(redis, id: "a")
        let b = try Node(redis, id: "b")
        defer {
            a.stop()
            b.stop()
        }
        a.registry.join(channel: "room", user: "ana", info: "{\"n\":1}")
        b.registry.join(channel: "room", user: "ana", info: "{\"n\":1}")
        b.registry.join(channel: "room", user: nil, info: nil)
        let summed = try XCTUnwrap(b.waitForSnapshot { $0.connections == 3 })
        XCTAssertEqual(summed.users, [.init(user: "ana", info: "{\"n\":1}", connections: 2)])
        XCTAssertEqual(summed.lastEventID, try presenceEvents().last?.id)
        XCTAssertEqual(try presenceEvents().map(\.text), ["join ana"])
        try redis.command(["FLUSHALL"])
        // Each node hears it is unknown at its next heartbeat and sends its whole share again.
        let again = try XCTUnwrap(a.waitForSnapshot { $0.connections == 3 && $0.users.first?.connections == 2 })
        XCTAssertEqual(again.users.map(\.user), ["ana"])
        a.registry.leave(channel: "room", user: "ana")
        b.registry.leave(channel: "room", user: "ana")
        b.registry.leave(channel: "room", user: nil)
        a.registry.tick(now: .max)
        b.registry.tick(now: .max)
        XCTAssertNotNil(try a.waitForSnapshot { $0.connections == 0 && $0.users.isEmpty })
        XCTAssertEqual(try presenceEvents().map(\.text), ["join ana", "leave ana"], "after the wipe: one join, one leave")
        let names = (a.webhooks.all + b.webhooks.all).map { "\($0.name.rawValue) \($0.user ?? "-")" }
        XCTAssertEqual(names.filter { $0 == "member_removed ana" }.count, 1, "\(names)")
        XCTAssertEqual(names.filter { $0 == "channel_vacated -" }.count, 1, "\(names)")
        XCTAssertEqual(names.filter { $0 == "member_added ana" }.count, 2, "once before the wipe, once after: \(names)")
    }

    func testASnapshotWithRedisAwayIsUnavailable() throws {
        let a = try Node(redis, id: "a")
        defer { a.stop() }
        XCTAssertNotNil(try a.waitForSnapshot { _ in true })
        redis.stop()
        guard case .failure = try a.snapshot() else { return XCTFail("a snapshot without Redis") }
    }
}
