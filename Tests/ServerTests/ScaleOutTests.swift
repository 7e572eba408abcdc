import Foundation
import TestKit
import XCTest

@testable import EventStream
@testable import Server
import App

/// Several nodes on one real `redis-server`: every node serves every channel.
final class ScaleOutTests: XCTestCase {
    private var redis: RedisServer!

    override func setUpWithError() throws {
        redis = try RedisServer()
    }

    override func tearDown() {
        redis?.stop()
        redis = nil
    }

    private func node(_ extra: [String] = []) throws -> TestServer {
        let server = try TestServer(["--redis", "unix://\(redis.socketPath)"] + extra)
        guard !extra.contains("--port") else { return server }
        XCTAssertTrue(waitUntil { server.hub.store?.unavailableReason == nil }, "node never reached Redis")
        return server
    }

    private func events(_ client: RawClient) -> [ParsedEvent] {
        EventStreamText.events(EventStreamText.dechunk(HTTPClient.parse(client.text).body))
    }

    func testAnEventPublishedOnOneNodeReachesEverySubscriberOfEveryNodeOnceInOrder() throws {
        let nodes = try (0..<3).map { _ in try node() }
        let clients = try nodes.map { node -> RawClient in
            let client = try node.connect()
            client.send("GET /events/room HTTP/1.1\r\nHost: x\r\n\r\n")
            XCTAssertTrue(client.read(untilContains: "retry:"))
            return client
        }
        var ids: [String] = []
        for i in 0..<20 {
            let reply = try HTTPClient.post(nodes[i % 3].port, "/events/room", body: "e\(i)")
            XCTAssertEqual(reply.status, 200, reply.body)
            ids.append(String(reply.body.split(separator: "\"")[3]))
        }
        for client in clients {
            XCTAssertTrue(client.read(untilContains: "data: e19\n", timeout: 10))
            XCTAssertEqual(events(client).map(\.data), (0..<20).map { "e\($0)" })
            XCTAssertEqual(events(client).compactMap(\.id), ids)
        }
        let parsed = ids.compactMap { EventID(parsing: $0) }
        XCTAssertEqual(parsed, parsed.sorted())
        XCTAssertEqual(Set(parsed).count, 20)
    }

    func testALastEventIDFromOneNodeReplaysOnAnotherFromRedis() throws {
        let a = try node()
        var ids: [String] = []
        for i in 0..<5 {
            let reply = try HTTPClient.post(a.port, "/events/log", body: "r\(i)")
            ids.append(String(reply.body.split(separator: "\"")[3]))
        }
        // A node started afterwards, whose cache never saw the channel's start.
        let b = try node(["--buffer", "100"])
        let client = try b.connect()
        client.send("GET /events/log HTTP/1.1\r\nHost: x\r\nLast-Event-ID: \(ids[1])\r\n\r\n")
        XCTAssertTrue(client.read(untilContains: "data: r4\n", timeout: 10))
        XCTAssertEqual(events(client).map(\.data), ["r2", "r3", "r4"])
        _ = try HTTPClient.post(a.port, "/events/log", body: "live")
        XCTAssertTrue(client.read(untilContains: "data: live\n", timeout: 10))
        XCTAssertEqual(events(client).map(\.data), ["r2", "r3", "r4", "live"])
    }

    func testWithRedisAwayPublishingIs503AndStreamsStayOpenThenCatchUp() throws {
        let a = try node()
        let b = try node()
        let client = try b.connect()
        client.send("GET /events/faults HTTP/1.1\r\nHost: x\r\n\r\n")
        XCTAssertTrue(client.read(untilContains: "retry:"))
        _ = try HTTPClient.post(a.port, "/events/faults", body: "before")
        XCTAssertTrue(client.read(untilContains: "data: before\n", timeout: 10))
        redis.pause()
        let started = Date()
        let refused = try HTTPClient.post(a.port, "/events/faults", body: "refused")
        XCTAssertEqual(refused.status, 503, refused.body)
        XCTAssertNotNil(refused.headers["retry-after"])
        XCTAssertLessThan(Date().timeIntervalSince(started), 3)
        XCTAssertTrue(waitUntil(timeout: 10) { (try? HTTPClient.get(a.port, "/readyz").status) == 503 })
        redis.resume()
        XCTAssertTrue(waitUntil(timeout: 10) { (try? HTTPClient.get(a.port, "/readyz").status) == 200 })
        let after = try HTTPClient.post(a.port, "/events/faults", body: "after")
        XCTAssertEqual(after.status, 200, after.body)
        XCTAssertTrue(client.read(untilContains: "data: after\n", timeout: 10))
        XCTAssertEqual(events(client).map(\.data), ["before", "after"], "the refused event was delivered later")
    }

    func testRedisKilledAndRestartedEmptyIdsStillRiseAndOldIDsGetAGap() throws {
        let a = try node()
        let b = try node()
        let client = try b.connect()
        client.send("GET /events/wipe HTTP/1.1\r\nHost: x\r\n\r\n")
        XCTAssertTrue(client.read(untilContains: "retry:"))
        let first = try HTTPClient.post(a.port, "/events/wipe", body: "one")
        XCTAssertEqual(first.status, 200)
        let firstID = try XCTUnwrap(EventID(parsing: String(first.body.split(separator: "\"")[3])))
        XCTAssertTrue(client.read(untilContains: "data: one\n", timeout: 10))
        try redis.restart(wipe: true)
        // Publishing comes back once both nodes have reloaded the library into the empty Redis.
        var second: HTTPClient.Reply?
        XCTAssertTrue(waitUntil(timeout: 15) {
            second = try? HTTPClient.post(a.port, "/events/wipe", body: "two")
            return second?.status == 200
        })
        let secondID = try XCTUnwrap(second.flatMap { EventID(parsing: String($0.body.split(separator: "\"")[3])) })
        XCTAssertGreaterThan(secondID, firstID, "ids went backwards after an empty Redis")
        // The stream either got "two" live, or was ended to be told of a gap; a
        // replay from before the wipe on another node is told what was lost.
        let c = try node()
        let replay = try c.connect()
        replay.send("GET /events/wipe HTTP/1.1\r\nHost: x\r\nLast-Event-ID: \(firstID.predecessor)\r\n\r\n")
        XCTAssertTrue(replay.read(untilContains: "data: two\n", timeout: 10))
        XCTAssertTrue(replay.text.contains("event: sse-gap"), replay.text)
        XCTAssertFalse(events(replay).contains { $0.data == "one" && $0.id != nil && EventID(parsing: $0.id!)! < firstID })
    }

    func testAPublishAnsweredIsKeptEvenWhenItsNodeDiesRightAfter() throws {
        let a = try node()
        let b = try node()
        let client = try b.connect()
        client.send("GET /events/kept HTTP/1.1\r\nHost: x\r\n\r\n")
        XCTAssertTrue(client.read(untilContains: "retry:"))
        XCTAssertEqual(try HTTPClient.post(a.port, "/events/kept", body: "acknowledged").status, 200)
        a.app.server.shutdown(grace: 0)
        a.app.stopStore()
        XCTAssertTrue(client.read(untilContains: "data: acknowledged\n", timeout: 10))
    }

    func testHistorySurvivesRestartingRedisWithItsDataAndEveryNode() throws {
        redis.stop()
        redis = try RedisServer(persistent: true)
        var ids: [String] = []
        do {
            let a = try node()
            for i in 0..<3 { ids.append(String(try HTTPClient.post(a.port, "/events/hist", body: "h\(i)").body.split(separator: "\"")[3])) }
            a.stop()
        }
        try redis.restart()
        let fresh = try node()
        let client = try fresh.connect()
        client.send("GET /events/hist HTTP/1.1\r\nHost: x\r\nLast-Event-ID: \(ids[0])\r\n\r\n")
        XCTAssertTrue(client.read(untilContains: "data: h2\n", timeout: 10))
        XCTAssertEqual(events(client).map(\.data), ["h1", "h2"])
        XCTAssertFalse(client.text.contains("sse-gap"))
    }

    func testAWrongPasswordIsAClearReasonInReadyz() throws {
        redis.stop()
        redis = try RedisServer(password: "right", tcp: true)
        let port = try XCTUnwrap(redis.port)
        let server = try TestServer(["--redis", "redis://:wrong@127.0.0.1:\(port)"])
        var reply: HTTPClient.Reply?
        XCTAssertTrue(waitUntil {
            reply = try? HTTPClient.get(server.port, "/readyz")
            return reply?.status == 503 && reply?.body.contains("WRONGPASS") == true
        }, reply?.body ?? "no answer")
        XCTAssertEqual(try HTTPClient.post(server.port, "/events/x", body: "y").status, 503)
    }

    func testTwoNodesShareOnePortWithReusePort() throws {
        let first = try node(["--reuse-port"])
        let second = try TestServer(["--redis", "unix://\(redis.socketPath)", "--reuse-port", "--port", String(first.port)])
        XCTAssertEqual(second.port, first.port)
        XCTAssertEqual(try HTTPClient.get(first.port, "/healthz").status, 200)
    }

    func testPollingAThousandTimesAcrossPublishesAndNodeRestartsMissesNothing() throws {
        var current = try node()
        var since = "0"
        var received: [String] = []
        var published = 0
        for round in 0..<1000 {
            if round % 4 == 0 {
                XCTAssertEqual(try HTTPClient.post(current.port, "/events/polled", body: "p\(published)").status, 200)
                published += 1
            }
            if round % 250 == 125 {
                // The node goes away; the client polls the next one with the id it has.
                current.stop()
                current = try node()
            }
            let reply = try HTTPClient.get(current.port, "/events/polled?poll=0.005&lastEventId=\(since)")
            let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(reply.body.utf8)) as? [String: Any], reply.body)
            received += (json["events"] as? [[String: String]] ?? []).compactMap { $0["data"] }
            since = try XCTUnwrap(json["lastEventId"] as? String)
        }
        XCTAssertEqual(received, (0..<published).map { "p\($0)" })
    }

    func testSourcesAndStreamingUploadsPublishThroughRedisToEveryNode() throws {
        let b = try node()
        let client = try b.connect()
        client.send("GET /events?channel=src&channel=up HTTP/1.1\r\nHost: x\r\n\r\n")
        XCTAssertTrue(client.read(untilContains: "retry:"))
        let a = try node(["exec:printf 'one\\ntwo\\n'; sleep 3600@src"])
        XCTAssertTrue(client.read(untilContains: "data: two\n", timeout: 10))
        let upload = try a.connect()
        upload.send("PUT /events/up?format=line HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n8\r\nup1\nup2\n\r\n")
        XCTAssertTrue(client.read(untilContains: "data: up2\n", timeout: 10))
        upload.send("0\r\n\r\n")
        XCTAssertTrue(upload.read(untilContains: "\"ids\""))
        XCTAssertEqual(events(client).map(\.data), ["one", "two", "up1", "up2"])
        a.stop()
    }

    func testAMalformedRedisURLIsRefusedWithTheReason() throws {
        XCTAssertThrowsError(try CommandLineOptionsParse(["--redis", "redis://host:notaport"])) { error in
            XCTAssertTrue("\(error)".contains("--redis"), "\(error)")
        }
    }

    private func waitUntil(timeout: Double = 10, _ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if condition() { return true }
            usleep(10_000)
        }
        return condition()
    }
}

private func CommandLineOptionsParse(_ arguments: [String]) throws {
    _ = try App.CommandLineOptions.parse(arguments)
}
