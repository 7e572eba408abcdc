import Auth
import Foundation
import Glibc
import TestKit
import XCTest

@testable import EventStream
@testable import Server

/// Presence through the server: JWT identities joining and leaving, the
/// `presence/{channel}` stream, snapshots, connections that die without a
/// FIN, and webhooks to a receiver.
final class PresenceEndToEndTests: XCTestCase {
    static let key = "presence-key-0123456789"
    let signer = JWTSigner(key: Array(PresenceEndToEndTests.key.utf8))

    private func token(_ sub: String, name: String? = nil) -> String {
        signer.sign(
            sub: sub, exp: Int64(Date().timeIntervalSince1970) + 600, subscribe: ["room", "other"],
            info: name.map { .object([.init("name", .string($0))]) })
    }

    /// A stream of `path` as `user` (anonymous without one).
    private func open(_ server: TestServer, _ path: String, as user: String? = nil, name: String? = nil) throws -> RawClient {
        let client = try server.connect()
        let auth = user.map { "Authorization: Bearer \(token($0, name: name))\r\n" } ?? ""
        client.send("GET \(path) HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\(auth)\r\n")
        XCTAssertTrue(client.read(untilContains: "retry:"), "stream \(path) opened")
        return client
    }

    private struct Snapshot {
        var lastEventID: String
        var connections: Int
        /// user → (info name, connections)
        var users: [String: (name: String?, connections: Int)]
    }

    private func snapshot(_ server: TestServer, _ channel: String = "room", as user: String? = "reader") throws -> Snapshot {
        let auth = user.map { "Authorization: Bearer \(token($0))\r\n" } ?? ""
        let reply = try HTTPClient.get(server.port, "/presence/\(channel)", headers: auth)
        XCTAssertEqual(reply.status, 200, reply.body)
        XCTAssertEqual(reply.headers["content-type"]?.hasPrefix("application/json"), true)
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(reply.body.utf8)) as? [String: Any])
        XCTAssertEqual(object["channel"] as? String, channel)
        var users: [String: (name: String?, connections: Int)] = [:]
        for user in try XCTUnwrap(object["users"] as? [[String: Any]]) {
            let name = (user["info"] as? [String: Any])?["name"] as? String
            users[try XCTUnwrap(user["user"] as? String)] = (name, try XCTUnwrap(user["connections"] as? Int))
        }
        return Snapshot(
            lastEventID: try XCTUnwrap(object["lastEventId"] as? String), connections: try XCTUnwrap(object["connections"] as? Int), users: users)
    }

    /// Asks for snapshots until `done` holds (at most 5 s).
    @discardableResult
    private func waitForSnapshot(_ server: TestServer, as user: String? = "reader", until done: (Snapshot) -> Bool) throws -> Snapshot {
        let deadline = Date().addingTimeInterval(5)
        var last = try snapshot(server, as: user)
        while !done(last) && Date() < deadline {
            usleep(10_000)
            last = try snapshot(server, as: user)
        }
        XCTAssertTrue(done(last), "snapshot never settled: \(last)")
        return last
    }

    private func waitUntil(timeout: Double = 10, _ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while !condition() {
            if Date() >= deadline { return false }
            usleep(10_000)
        }
        return true
    }

    /// `type user` for each event the stream received.
    private func presenceEvents(_ client: RawClient) -> [String] {
        EventStreamText.events(EventStreamText.dechunk(HTTPClient.parse(client.text).body)).compactMap { event in
            guard let object = try? JSONSerialization.jsonObject(with: Data(event.data.utf8)) as? [String: Any] else { return nil }
            return "\(event.type) \(object["user"] as? String ?? "?")"
        }
    }

    func testUsersJoinAndLeaveOnThePresenceChannelWithTheirInfo() throws {
        let server = try TestServer(["--jwt-key", Self.key, "--leave-grace", "0.1"])
        let watcher = try open(server, "/events/presence/room", as: "watcher")
        let ana = try open(server, "/events/room", as: "ana", name: "Ana")
        var ben: RawClient? = try open(server, "/events/room?channel=other", as: "ben")
        var anaAgain: RawClient? = try open(server, "/events/room", as: "ana", name: "Ana")
        let both = try waitForSnapshot(server) { $0.connections == 3 }
        XCTAssertEqual(both.users["ana"]?.name, "Ana")
        XCTAssertEqual(both.users["ana"]?.connections, 2)
        XCTAssertEqual(both.users["ben"]?.connections, 1)
        XCTAssertNil(both.users["watcher"], "reading presence is not being present")
        XCTAssertEqual(both.users.count, 2)
        XCTAssertEqual(try snapshot(server, "other").users.keys.sorted(), ["ben"])
        anaAgain = nil
        ben = nil
        XCTAssertTrue(watcher.read(until: { _ in self.presenceEvents(watcher).count >= 3 }))
        XCTAssertEqual(presenceEvents(watcher), ["join ana", "join ben", "leave ben"], "ana's second connection made no event")
        let after = try waitForSnapshot(server) { $0.connections == 1 && $0.users["ben"] == nil }
        XCTAssertEqual(after.users["ana"]?.connections, 1)
        _ = (ana, ben, anaAgain)
    }

    func testAReconnectWithinTheGraceMakesNoLeave() throws {
        let server = try TestServer(["--jwt-key", Self.key, "--leave-grace", "30"])
        let watcher = try open(server, "/events/presence/room", as: "watcher")
        var ana: RawClient? = try open(server, "/events/room", as: "ana")
        try waitForSnapshot(server) { $0.connections == 1 }
        ana = nil
        try waitForSnapshot(server) { $0.connections == 0 && $0.users["ana"]?.connections == 0 }
        ana = try open(server, "/events/room", as: "ana")
        // A later join marks the point by which a leave of ana would have shown.
        let carl = try open(server, "/events/room", as: "carl")
        XCTAssertTrue(watcher.read(until: { _ in self.presenceEvents(watcher).count >= 2 }))
        XCTAssertEqual(presenceEvents(watcher), ["join ana", "join carl"])
        XCTAssertEqual(try snapshot(server).users["ana"]?.connections, 1)
        _ = (ana, carl)
    }

    func testCountsAreRightAfterConnectionsDieWithAReset() throws {
        let server = try TestServer(["--jwt-key", Self.key, "--leave-grace", "0.1"])
        var clients: [RawClient] = [try open(server, "/events/room", as: "ana"), try open(server, "/events/room?channel=other", as: "cy")]
        let kept = try open(server, "/events/room", as: "ben")
        try waitForSnapshot(server) { $0.connections == 3 }
        // SO_LINGER 0: the close sends a reset, no FIN.
        var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
        for client in clients { setsockopt(client.fd, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size)) }
        clients.removeAll()
        let settled = try waitForSnapshot(server) { $0.connections == 1 && $0.users["ana"] == nil && $0.users["cy"] == nil }
        XCTAssertEqual(settled.users.keys.sorted(), ["ben"])
        XCTAssertEqual(try snapshot(server, "other").connections, 0)
        _ = kept
    }

    func testASnapshotThenASubscribeFromItsLastEventIdMissesNothing() throws {
        try snapshotThenSubscribe(try TestServer(["--jwt-key", Self.key, "--leave-grace", "0.1"]))
    }

    /// With `--redis` (one node here) the snapshot comes from Redis and the
    /// events from the shared log: they agree the same way.
    func testWithRedisANodesPresenceSnapshotAndChannelStillAgree() throws {
        let redis = try RedisServer()
        defer { redis.stop() }
        let server = try TestServer(["--redis", "unix://\(redis.socketPath)", "--jwt-key", Self.key, "--leave-grace", "0.1"])
        XCTAssertTrue(waitUntil { server.hub.store?.unavailableReason == nil }, "node never reached Redis")
        try snapshotThenSubscribe(server)
    }

    private func snapshotThenSubscribe(_ server: TestServer) throws {
        var ana: RawClient? = try open(server, "/events/room", as: "ana")
        let first = try waitForSnapshot(server) { $0.users["ana"] != nil }
        XCTAssertNotEqual(first.lastEventID, "0")
        // Changes after the snapshot, before the subscribe: the subscribe must get them.
        let ben = try open(server, "/events/room", as: "ben")
        try waitForSnapshot(server) { $0.users["ben"] != nil }
        let watcher = try open(server, "/events/presence/room?lastEventId=\(first.lastEventID)", as: "watcher")
        ana = nil
        XCTAssertTrue(watcher.read(until: { _ in self.presenceEvents(watcher).count >= 2 }))
        XCTAssertEqual(presenceEvents(watcher), ["join ben", "leave ana"])
        // An empty channel's snapshot says `0`: subscribing from it replays everything.
        XCTAssertEqual(try snapshot(server, "other").lastEventID, "0")
        _ = (ana, ben)
    }

    func testAnonymousStreamsCountAsConnectionsOnly() throws {
        let server = try TestServer(["--leave-grace", "0.1"])
        XCTAssertEqual(try HTTPClient.post(server.port, "/events/presence/room", body: "x").status, 403, "presence/ is the server's")
        var anonymous: [RawClient] = [try open(server, "/events/room"), try open(server, "/events/room?channel=presence/room")]
        let open = try waitForSnapshot(server, as: nil) { $0.connections == 2 }
        XCTAssertTrue(open.users.isEmpty)
        anonymous.removeAll()
        try waitForSnapshot(server, as: nil) { $0.connections == 0 }
    }

    func testWebhooksTellTheAppWhoCameAndWent() throws {
        let receiver = try WebhookReceiver()
        defer { receiver.stop() }
        let secret = "whsec_" + Base64.encode(Array("a webhook secret of some length".utf8))
        let server = try TestServer([
            "--jwt-key", Self.key, "--leave-grace", "0.1", "--webhook", receiver.url, "--webhook-secret", secret, "--publish-token", "pt",
        ])
        var ana: RawClient? = try open(server, "/events/room", as: "ana")
        try waitForSnapshot(server) { $0.connections == 1 }
        let metrics = try HTTPClient.get(server.port, "/metrics", headers: "Authorization: Bearer pt\r\n").body
        XCTAssertTrue(metrics.contains("sse_presence_users{channel=\"room\"} 1\n"), metrics)
        XCTAssertTrue(metrics.contains("sse_webhook_dropped_total 0\n"), metrics)
        ana = nil
        var names: [String] = []
        receiver.wait { deliveries in
            names = deliveries.filter { $0.answered == 200 }.flatMap { delivery -> [String] in
                let object = try? JSONSerialization.jsonObject(with: Data(delivery.body)) as? [String: Any]
                return (object?["events"] as? [[String: String]] ?? []).map { "\($0["name"]!) \($0["channel"]!) \($0["user"] ?? "-")" }
            }
            return names.count >= 4
        }
        XCTAssertEqual(names, ["channel_occupied room -", "member_added room ana", "member_removed room ana", "channel_vacated room -"])
        for delivery in receiver.taken {
            let headers = delivery.headers
            XCTAssertTrue(WebhookSignature.verify(
                header: headers["webhook-signature"] ?? "", secret: secret, id: headers["webhook-id"] ?? "",
                timestamp: Int64(headers["webhook-timestamp"] ?? "") ?? 0, body: delivery.body, nowSeconds: Int64(Date().timeIntervalSince1970)))
        }
        _ = ana
    }
}
