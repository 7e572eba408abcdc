import Foundation
import XCTest

@testable import EventStream
@testable import Server

/// `?last=`, `?event=`, `?poll=`, and the limits on what one stream may ask.
final class ReplayAndPollingTests: XCTestCase {
    private func events(_ client: RawClient) -> [ParsedEvent] {
        EventStreamText.events(EventStreamText.dechunk(HTTPClient.parse(client.text).body))
    }

    func testLastNStartsWithTheNewestNOfAllTheStreamsChannelsInIDOrder() throws {
        let server = try TestServer()
        try server.hub.publish([Event(data: "a1")], to: "a")
        try server.hub.publish([Event(data: "b1")], to: "b")
        try server.hub.publish([Event(data: "a2")], to: "a")
        try server.hub.publish([Event(data: "b2")], to: "b")
        let client = try server.connect()
        client.send("GET /events?channel=a&channel=b&last=3 HTTP/1.1\r\n\r\n")
        XCTAssertTrue(client.read(untilContains: "data: b2\n"))
        try server.hub.publish([Event(data: "a3")], to: "a")
        XCTAssertTrue(client.read(untilContains: "data: a3\n"))
        XCTAssertEqual(events(client).map(\.data), ["b1", "a2", "b2", "a3"])
        // A reconnect's Last-Event-ID wins over ?last=: nothing is sent twice.
        let again = try server.connect()
        let lastID = events(client).last!.id!
        again.send("GET /events/a?last=3 HTTP/1.1\r\nLast-Event-ID: \(lastID)\r\n\r\n")
        try server.hub.publish([Event(data: "a4")], to: "a")
        XCTAssertTrue(again.read(untilContains: "data: a4\n"))
        XCTAssertEqual(events(again).map(\.data), ["a4"])
    }

    func testEventFilterSendsOnlyTheNamedTypesAsEncodedOnce() throws {
        let server = try TestServer()
        let client = try server.connect()
        client.send("GET /events/f?event=alert&event=page HTTP/1.1\r\n\r\n")
        XCTAssertTrue(client.read(untilContains: "retry:"))
        try server.hub.publish(
            [Event(data: "m1"), Event(type: "alert", data: "x1"), Event(type: "page", data: "p1"), Event(data: "m2"), Event(type: "alert", data: "x2")],
            to: "f")
        XCTAssertTrue(client.read(untilContains: "data: x2\n"))
        XCTAssertEqual(events(client).map(\.data), ["x1", "p1", "x2"])
        XCTAssertEqual(events(client).map(\.type), ["alert", "page", "alert"])
    }

    func testALongPollAnswersAtOnceWhenEventsWaitAndChainsByLastEventID() throws {
        let server = try TestServer()
        let ids = try server.hub.publish([Event(data: "one"), Event(type: "t", data: "two\nlines")], to: "p")
        let first = try HTTPClient.get(server.port, "/events/p?poll=5&lastEventId=0")
        XCTAssertEqual(first.status, 200)
        XCTAssertEqual(first.headers["content-type"], "application/json")
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(first.body.utf8)) as? [String: Any])
        let list = try XCTUnwrap(json["events"] as? [[String: String]])
        XCTAssertEqual(list.map { $0["data"] }, ["one", "two\nlines"])
        XCTAssertEqual(list.map { $0["event"] }, ["message", "t"])
        XCTAssertEqual(list.map { $0["channel"] }, ["p", "p"])
        XCTAssertEqual(json["lastEventId"] as? String, ids[1].description)
    }

    func testALongPollWaitsForTheNextEventAndTimesOutEmpty() throws {
        let server = try TestServer()
        let ids = try server.hub.publish([Event(data: "seen")], to: "w")
        let client = try server.connect()
        client.send("GET /events/w?poll=30 HTTP/1.1\r\nLast-Event-ID: \(ids[0])\r\n\r\n")
        XCTAssertFalse(client.read(untilContains: "\r\n\r\n", timeout: 0.2))
        try server.hub.publish([Event(data: "next")], to: "w")
        XCTAssertTrue(client.read(until: { $0.contains("\"lastEventId\"") }))
        XCTAssertTrue(client.text.contains("\"data\":\"next\""), client.text)
        XCTAssertFalse(client.text.contains("seen"))
        let empty = try HTTPClient.get(server.port, "/events/w?poll=0.05&lastEventId=\(ids[0])-9")
        XCTAssertEqual(empty.status, 200)
        XCTAssertTrue(empty.body.hasPrefix("{\"events\":[],\"lastEventId\":\"\(ids[0])-9\""), empty.body)
    }

    func testPollingInALoopAcrossPublishesMissesNothing() throws {
        let server = try TestServer()
        var since = "0"
        var received: [String] = []
        var published = 0
        for round in 0..<200 {
            if round % 3 == 0 {
                try server.hub.publish([Event(data: "e\(published)")], to: "loop")
                published += 1
            }
            let reply = try HTTPClient.get(server.port, "/events/loop?poll=0.01&lastEventId=\(since)")
            let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(reply.body.utf8)) as? [String: Any])
            received += (json["events"] as? [[String: String]] ?? []).compactMap { $0["data"] }
            since = try XCTUnwrap(json["lastEventId"] as? String)
        }
        XCTAssertEqual(received, (0..<published).map { "e\($0)" })
    }

    func testAStreamOfMoreThan64ChannelsIsRefused() throws {
        let server = try TestServer()
        let many = (0..<65).map { "channel=c\($0)" }.joined(separator: "&")
        XCTAssertEqual(try HTTPClient.get(server.port, "/events?\(many)").status, 400)
        let enough = (0..<64).map { "channel=c\($0)" }.joined(separator: "&")
        let client = try server.connect()
        client.send("GET /events?\(enough) HTTP/1.1\r\n\r\n")
        XCTAssertTrue(client.read(untilContains: "retry:"))
    }

    func testPresenceChannelsAreTheServersOwnAndReadyzAnswers() throws {
        let server = try TestServer()
        XCTAssertEqual(try HTTPClient.post(server.port, "/events/presence/room", body: "x").status, 403)
        let ready = try HTTPClient.get(server.port, "/readyz")
        XCTAssertEqual(ready.status, 200)
        XCTAssertTrue(ready.body.hasPrefix("ready"), ready.body)
    }
}
