import Auth
import Foundation
import Glibc
import TestKit
import XCTest

@testable import EventStream
@testable import Server
import App

/// Presence over several nodes on one real `redis-server`: one `join` and one
/// `leave` for all of them, with the same ids everywhere, summed snapshots,
/// webhooks once, a node killed outright dropping out, and a graceful restart
/// making no leave.
final class PresenceScaleOutTests: XCTestCase {
    static let key = "presence-scale-key-0123456789"
    let signer = JWTSigner(key: Array(PresenceScaleOutTests.key.utf8))
    private var redis: RedisServer!

    override func setUpWithError() throws {
        redis = try RedisServer()
    }

    override func tearDown() {
        redis?.stop()
        redis = nil
    }

    private var common: [String] { ["--redis", "unix://\(redis.socketPath)", "--jwt-key", Self.key] }

    private func node(grace: String = "0.3", ttl: String = "1", _ extra: [String] = []) throws -> TestServer {
        let server = try TestServer(common + ["--leave-grace", grace, "--presence-ttl", ttl] + extra)
        XCTAssertTrue(waitUntil { server.hub.store?.unavailableReason == nil }, "node never reached Redis")
        return server
    }

    private func token(_ sub: String) -> String {
        signer.sign(sub: sub, exp: Int64(Date().timeIntervalSince1970) + 600, subscribe: ["room"], info: nil)
    }

    private func open(_ port: Int, _ path: String, as user: String) throws -> RawClient {
        let client = try RawClient(port: port)
        client.send("GET \(path) HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\nAuthorization: Bearer \(token(user))\r\n\r\n")
        XCTAssertTrue(client.read(untilContains: "retry:"), "stream \(path) opened")
        return client
    }

    private struct Snapshot {
        var lastEventID: String
        var connections: Int
        var users: [String: Int]
    }

    private func snapshot(_ port: Int) throws -> Snapshot? {
        let reply = try HTTPClient.get(port, "/presence/room", headers: "Authorization: Bearer \(token("reader"))\r\n")
        guard reply.status == 200, let object = try JSONSerialization.jsonObject(with: Data(reply.body.utf8)) as? [String: Any] else { return nil }
        var users: [String: Int] = [:]
        for user in object["users"] as? [[String: Any]] ?? [] { users[user["user"] as? String ?? "?"] = user["connections"] as? Int }
        return Snapshot(lastEventID: object["lastEventId"] as? String ?? "?", connections: object["connections"] as? Int ?? -1, users: users)
    }

    private func waitForSnapshot(_ port: Int, until done: (Snapshot) -> Bool) throws -> Snapshot {
        var last: Snapshot?
        XCTAssertTrue(waitUntil {
            last = try? snapshot(port)
            return last.map(done) ?? false
        }, "snapshot never settled: \(String(describing: last))")
        return try XCTUnwrap(last)
    }

    /// `type user` and the id of each presence event the stream received.
    private func presenceEvents(_ client: RawClient) -> [(text: String, id: String?)] {
        EventStreamText.events(EventStreamText.dechunk(HTTPClient.parse(client.text).body)).compactMap { event in
            guard let object = try? JSONSerialization.jsonObject(with: Data(event.data.utf8)) as? [String: Any] else { return nil }
            return ("\(event.type) \(object["user"] as? String ?? "?")", event.id)
        }
    }

    private func texts(_ client: RawClient, count: Int, timeout: Double = 5) -> [String] {
        XCTAssertTrue(client.read(until: { _ in self.presenceEvents(client).count >= count }, timeout: timeout), "\(presenceEvents(client))")
        return presenceEvents(client).map(\.text)
    }

    private func waitUntil(timeout: Double = 10, _ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while !condition() {
            if Date() >= deadline { return false }
            usleep(10_000)
        }
        return true
    }

    func testAUserOnTwoNodesJoinsOnceEverywhereWithOneIdAndSnapshotsSumBothNodes() throws {
        let receiver = try WebhookReceiver()
        defer { receiver.stop() }
        let a = try node(["--webhook", receiver.url])
        let b = try node(["--webhook", receiver.url])
        let watchA = try open(a.port, "/events/presence/room", as: "watcher")
        let watchB = try open(b.port, "/events/presence/room", as: "watcher")
        var anaOnA: RawClient? = try open(a.port, "/events/room", as: "ana")
        var anaOnB: RawClient? = try open(b.port, "/events/room", as: "ana")
        for node in [a, b] {
            let both = try waitForSnapshot(node.port) { $0.users["ana"] == 2 }
            XCTAssertEqual(both.connections, 2)
            XCTAssertEqual(both.users.count, 1)
        }
        // A later join marks the point by which a second join of ana would have shown.
        let carl = try open(b.port, "/events/room", as: "carl")
        XCTAssertEqual(texts(watchA, count: 2), ["join ana", "join carl"])
        XCTAssertEqual(texts(watchB, count: 2), ["join ana", "join carl"])
        XCTAssertEqual(presenceEvents(watchA).map(\.id), presenceEvents(watchB).map(\.id), "the same ids on every node")
        let taken = try waitForSnapshot(a.port) { $0.users["carl"] == 1 }
        XCTAssertEqual(taken.lastEventID, presenceEvents(watchA).last?.id)
        // Changes after the snapshot, before a subscribe from it on the other node.
        anaOnA = nil
        anaOnB = nil
        _ = try waitForSnapshot(a.port) { $0.users["ana"] == nil }
        let late = try open(b.port, "/events/presence/room?lastEventId=\(taken.lastEventID)", as: "watcher")
        let dan = try open(a.port, "/events/room", as: "dan")
        XCTAssertEqual(texts(late, count: 2), ["leave ana", "join dan"])
        XCTAssertEqual(texts(watchA, count: 4), ["join ana", "join carl", "leave ana", "join dan"])
        var names: [String] = []
        XCTAssertTrue(receiver.wait { deliveries in
            names = deliveries.filter { $0.answered == 200 }.flatMap { delivery -> [String] in
                let object = try? JSONSerialization.jsonObject(with: Data(delivery.body)) as? [String: Any]
                return (object?["events"] as? [[String: String]] ?? []).map { "\($0["name"]!) \($0["user"] ?? "-")" }
            }
            // Each node sends from its own queue: the last transition may come before an earlier one.
            return names.count >= 5
        })
        XCTAssertEqual(names.sorted(), ["channel_occupied -", "member_added ana", "member_added carl", "member_added dan", "member_removed ana"], "each once, from one node")
        _ = (anaOnA, anaOnB, carl, dan)
    }

    func testANodeKilledOutrightDropsOutAndOnlyItsOwnUsersLeaveOnce() throws {
        let survivor = try node()
        let watcher = try open(survivor.port, "/events/presence/room", as: "watcher")
        let (process, port, _) = try EndToEndTests.launch(
            common + ["--leave-grace", "0.3", "--presence-ttl", "1", "--port", "0", "--threads", "1", "--quiet", "stdin@unused"], stdin: Pipe())
        defer { if process.isRunning { process.terminate() } }
        let ana = try open(port, "/events/room", as: "ana")
        let benThere = try open(port, "/events/room", as: "ben")
        let benHere = try open(survivor.port, "/events/room", as: "ben")
        _ = try waitForSnapshot(survivor.port) { $0.users == ["ana": 1, "ben": 2] }
        XCTAssertEqual(Set(texts(watcher, count: 2)), ["join ana", "join ben"])
        kill(process.processIdentifier, SIGKILL)
        // The bound docs/presence.md gives: --presence-ttl (1 s) plus about a second; 3 s of slack.
        XCTAssertTrue(watcher.read(until: { _ in self.presenceEvents(watcher).contains { $0.text == "leave ana" } }, timeout: 5))
        let carl = try open(survivor.port, "/events/room", as: "carl")
        let seen = texts(watcher, count: 4)
        XCTAssertEqual(Array(seen.dropFirst(2)), ["leave ana", "join carl"], "ben is still connected here: no leave")
        XCTAssertEqual(try waitForSnapshot(survivor.port) { $0.users["carl"] == 1 }.users, ["ben": 1, "carl": 1])
        _ = (ana, benThere, benHere, carl)
    }

    func testAGracefulStopAndAReconnectToAnotherNodeMakeNoLeaveAndJoin() throws {
        // A TTL far beyond the grace: only the graceful stop makes the share lapse in time.
        let a = try node(grace: "1", ttl: "30")
        let b = try node(grace: "1", ttl: "30")
        let watcher = try open(b.port, "/events/presence/room", as: "watcher")
        let ana = try open(a.port, "/events/room", as: "ana")
        XCTAssertEqual(texts(watcher, count: 1), ["join ana"])
        let stopped = try XCTUnwrap(a.app.sharedPresence?.configuration.nodeID)
        a.stop()
        ana.readToEnd(timeout: 5)
        // The browser reconnects to the other node.
        let again = try open(b.port, "/events/room", as: "ana")
        // The stopped node's share lapses after the grace; the next sweep removes it.
        XCTAssertTrue(waitUntil { (try? self.redis.command(["ZSCORE", "sse:pr:nodes", stopped])) == .bulkString(nil) })
        let carl = try open(b.port, "/events/room", as: "carl")
        XCTAssertEqual(texts(watcher, count: 2), ["join ana", "join carl"])
        XCTAssertEqual(try waitForSnapshot(b.port) { $0.users["carl"] == 1 }.users, ["ana": 1, "carl": 1])
        _ = (again, carl)
    }

    func testASnapshotWithRedisAwayIs503WithRetryAfter() throws {
        let a = try node()
        _ = try waitForSnapshot(a.port) { $0.connections == 0 }
        redis.stop()
        let reply = try HTTPClient.get(a.port, "/presence/room", headers: "Authorization: Bearer \(token("reader"))\r\n")
        XCTAssertEqual(reply.status, 503, reply.body)
        XCTAssertEqual(reply.headers["retry-after"], "1")
        // The connection goes on serving.
        XCTAssertEqual(try HTTPClient.get(a.port, "/healthz").status, 200)
    }

    func testASubscribeFromAnIdThisNodeHasNotYetFollowedGetsNothingTwice() throws {
        let proxy = try StallingProxy(toUnixSocket: redis.socketPath)
        defer { proxy.stop() }
        let a = try node()
        let b = try TestServer(["--redis", "redis://127.0.0.1:\(proxy.port)", "--jwt-key", Self.key, "--presence-ttl", "10"])
        XCTAssertTrue(waitUntil { b.hub.store?.unavailableReason == nil }, "node never reached Redis")
        let ana = try open(a.port, "/events/room", as: "ana")
        _ = try waitForSnapshot(b.port) { $0.users["ana"] == 1 }
        XCTAssertTrue(waitUntil { b.hub.lastID(of: "presence/room") != nil }, "b followed ana's join")
        // b's follower stalls: the next presence event reaches Redis and a, not b.
        proxy.pause()
        let ben = try open(a.port, "/events/room", as: "ben")
        let taken = try waitForSnapshot(a.port) { $0.users["ben"] == 1 }
        let late = try RawClient(port: b.port)
        late.send("GET /events/presence/room?lastEventId=\(taken.lastEventID) HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(token("watcher"))\r\n\r\n")
        proxy.resume()
        XCTAssertTrue(late.read(untilContains: "retry:"))
        let carl = try open(a.port, "/events/room", as: "carl")
        XCTAssertEqual(texts(late, count: 1), ["join carl"], "ben's join, older than the id, is not delivered")
        _ = (ana, ben, carl)
    }
}
