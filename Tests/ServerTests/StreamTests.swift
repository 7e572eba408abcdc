import Foundation
import Glibc
import XCTest

@testable import EventStream
@testable import Server

/// Subscribing, replaying and publishing over real sockets.
final class StreamTests: XCTestCase {
    func testStreamStartsWithRetryThenDeliversEachPublishedEventWithAnID() throws {
        let server = try TestServer(["--retry", "1500"])
        let client = try server.connect()
        client.send("GET /events/news HTTP/1.1\r\nHost: x\r\n\r\n")
        XCTAssertTrue(client.read(untilContains: "retry: 1500\n\n"))
        let head = HTTPClient.parse(client.text)
        XCTAssertEqual(head.status, 200)
        XCTAssertEqual(head.headers["content-type"], "text/event-stream")
        XCTAssertEqual(head.headers["cache-control"], "no-cache")
        XCTAssertEqual(head.headers["x-accel-buffering"], "no")
        XCTAssertEqual(head.headers["transfer-encoding"], "chunked")
        let reply = try HTTPClient.post(server.port, "/events/news", body: "hello\n")
        XCTAssertEqual(reply.status, 200)
        XCTAssertTrue(reply.body.hasPrefix("{\"ids\":[\""))
        XCTAssertTrue(client.read(untilContains: "data: hello\n\n"))
        let events = EventStreamText.events(EventStreamText.dechunk(HTTPClient.parse(client.text).body))
        XCTAssertEqual(events.count, 1)
        XCTAssertEqual(events[0].data, "hello")
        XCTAssertNotNil(events[0].id.flatMap { EventID(parsing: $0) })
        XCTAssertTrue(reply.body.contains(events[0].id!))
    }

    func testReplaysAfterLastEventIDWithoutDuplicatesOrGaps() throws {
        let server = try TestServer()
        let ids = try (1...5).map { try server.hub.publish([Event(data: "e\($0)")], to: "r")[0] }
        // Header form.
        let a = try server.connect()
        a.send("GET /events/r HTTP/1.1\r\nLast-Event-ID: \(ids[1])\r\n\r\n")
        XCTAssertTrue(a.read(untilContains: "data: e5\n"))
        try server.hub.publish([Event(data: "e6")], to: "r")
        XCTAssertTrue(a.read(untilContains: "data: e6\n"))
        XCTAssertEqual(EventStreamText.events(EventStreamText.dechunk(HTTPClient.parse(a.text).body)).map(\.data), ["e3", "e4", "e5", "e6"])
        // Query form; the header wins when both are given.
        let b = try server.connect()
        b.send("GET /events/r?lastEventId=\(ids[3]) HTTP/1.1\r\n\r\n")
        XCTAssertTrue(b.read(untilContains: "data: e6\n"))
        XCTAssertEqual(EventStreamText.events(EventStreamText.dechunk(HTTPClient.parse(b.text).body)).map(\.data), ["e5", "e6"])
        let c = try server.connect()
        c.send("GET /events/r?lastEventId=0 HTTP/1.1\r\nLast-Event-ID: \(ids[4])\r\n\r\n")
        XCTAssertTrue(c.read(untilContains: "data: e6\n"))
        XCTAssertEqual(EventStreamText.events(EventStreamText.dechunk(HTTPClient.parse(c.text).body)).map(\.data), ["e6"])
    }

    func testZeroReplaysEverythingAndAnUnreadableIDIsLiveOnly() throws {
        let server = try TestServer()
        try server.hub.publish([Event(data: "old1"), Event(data: "old2")], to: "z")
        let all = try server.connect()
        all.send("GET /events/z?lastEventId=0 HTTP/1.1\r\n\r\n")
        XCTAssertTrue(all.read(untilContains: "data: old2\n"))
        let live = try server.connect()
        live.send("GET /events/z HTTP/1.1\r\nLast-Event-ID: not-an-id\r\n\r\n")
        XCTAssertTrue(live.read(untilContains: "retry:"))
        try server.hub.publish([Event(data: "new")], to: "z")
        XCTAssertTrue(live.read(untilContains: "data: new\n"))
        XCTAssertFalse(live.text.contains("old1"))
    }

    func testAnIDOlderThanTheBufferGetsOneGapNoticeThenAllItHas() throws {
        let server = try TestServer(["--buffer", "3"])
        let ids = try (1...6).map { try server.hub.publish([Event(data: "e\($0)")], to: "g")[0] }
        let client = try server.connect()
        client.send("GET /events/g HTTP/1.1\r\nLast-Event-ID: \(ids[0])\r\n\r\n")
        XCTAssertTrue(client.read(untilContains: "data: e6\n"))
        let events = EventStreamText.events(EventStreamText.dechunk(HTTPClient.parse(client.text).body))
        XCTAssertEqual(events.map(\.type), ["sse-gap", "message", "message", "message"])
        XCTAssertNil(events[0].id, "the gap notice carries no id")
        XCTAssertEqual(events.dropFirst().map(\.data), ["e4", "e5", "e6"])
    }

    func testSeveralChannelsOnOneStreamArriveInIDOrder() throws {
        let server = try TestServer()
        try server.hub.publish([Event(data: "a1")], to: "a")
        try server.hub.publish([Event(data: "b1")], to: "b")
        try server.hub.publish([Event(data: "a2")], to: "a")
        let client = try server.connect()
        client.send("GET /events?channel=a&channel=b&lastEventId=0 HTTP/1.1\r\n\r\n")
        XCTAssertTrue(client.read(untilContains: "data: a2\n"))
        for i in 0..<20 { try server.hub.publish([Event(data: "live\(i)")], to: i % 2 == 0 ? "a" : "b") }
        XCTAssertTrue(client.read(untilContains: "data: live19\n"))
        let events = EventStreamText.events(EventStreamText.dechunk(HTTPClient.parse(client.text).body))
        XCTAssertEqual(events.map(\.data), ["a1", "b1", "a2"] + (0..<20).map { "live\($0)" })
        let ids = events.compactMap { $0.id.flatMap { EventID(parsing: $0) } }
        XCTAssertEqual(ids, ids.sorted())
    }

    func testPublishBodiesTextJSONAndEventStream() throws {
        let server = try TestServer()
        let client = try server.connect()
        client.send("GET /events/p HTTP/1.1\r\n\r\n")
        XCTAssertTrue(client.read(untilContains: "retry:"))
        XCTAssertEqual(try HTTPClient.post(server.port, "/events/p?event=note", body: "two\nlines\r\n").status, 200)
        XCTAssertEqual(try HTTPClient.post(server.port, "/events/p", body: "{\"event\":\"obj\",\n \"data\": {\"k\": [1, 2]}}", contentType: "application/json").status, 200)
        XCTAssertEqual(try HTTPClient.post(server.port, "/events/p", body: "event: s\ndata: x\nid: 99\n\ndata: y\n\n", contentType: "text/event-stream").status, 200)
        XCTAssertEqual(try HTTPClient.post(server.port, "/events/p", body: "{bad", contentType: "application/json").status, 400)
        XCTAssertEqual(try HTTPClient.post(server.port, "/events/p", body: "").status, 400)
        XCTAssertEqual(try HTTPClient.post(server.port, "/events/p", body: "\n").status, 400)
        XCTAssertTrue(client.read(untilContains: "data: y\n"))
        let events = EventStreamText.events(EventStreamText.dechunk(HTTPClient.parse(client.text).body))
        XCTAssertEqual(events.map(\.type), ["note", "obj", "s", "message"])
        XCTAssertEqual(events.map(\.data), ["two\nlines", "{\"k\":[1,2]}", "x", "y"])
        XCTAssertFalse(events.contains { $0.id == "99" }, "ids in the input are ignored")
    }

    func testStreamingUploadPublishesEachRecordAsItArrives() throws {
        let server = try TestServer()
        let subscriber = try server.connect()
        subscriber.send("GET /events/up HTTP/1.1\r\n\r\n")
        XCTAssertTrue(subscriber.read(untilContains: "retry:"))
        let uploader = try server.connect()
        uploader.send("PUT /events/up?format=line HTTP/1.1\r\nTransfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n")
        XCTAssertTrue(uploader.read(untilContains: "100 Continue"))
        uploader.send("6\r\nfirst\n\r\n")
        XCTAssertTrue(subscriber.read(untilContains: "data: first\n"), "published before the upload ends")
        uploader.send("3\r\nsec\r\n")
        uploader.send("4\r\nond\n\r\n")
        XCTAssertTrue(subscriber.read(untilContains: "data: second\n"))
        uploader.send("0\r\n\r\n")
        XCTAssertTrue(uploader.read(untilContains: "\"ids\""))
        XCTAssertTrue(uploader.text.contains("HTTP/1.1 200 OK"))
    }

    func testHTTP10StreamIsUnframedAndHeadGetsOnlyTheHead() throws {
        let server = try TestServer()
        let old = try server.connect()
        old.send("GET /events/h HTTP/1.0\r\n\r\n")
        XCTAssertTrue(old.read(untilContains: "retry: 3000\n\n"))
        try server.hub.publish([Event(data: "x")], to: "h")
        XCTAssertTrue(old.read(untilContains: "data: x\n\n"))
        XCTAssertFalse(old.text.lowercased().contains("transfer-encoding"))
        XCTAssertTrue(HTTPClient.parse(old.text).body.hasPrefix("retry: 3000\n\nid: "))
        let head = try server.connect()
        head.send("HEAD /events/h HTTP/1.1\r\n\r\nGET /healthz HTTP/1.1\r\n\r\n")
        XCTAssertTrue(head.read(untilContains: "\r\n\r\nok\n"))
        XCTAssertFalse(head.text.contains("retry:"))
    }

    func testShutdownDeliversWhatWasAcceptedAndEndsStreamsWithTheFinalChunk() throws {
        let server = try TestServer()
        let client = try server.connect()
        client.send("GET /events/s HTTP/1.1\r\n\r\n")
        XCTAssertTrue(client.read(untilContains: "retry:"))
        for i in 0..<100 { try server.hub.publish([Event(data: "m\(i)")], to: "s") }
        server.stop()
        client.readToEnd()
        XCTAssertTrue(client.closedByPeer)
        XCTAssertTrue(client.text.hasSuffix("\r\n0\r\n\r\n"))
        XCTAssertEqual(EventStreamText.events(EventStreamText.dechunk(HTTPClient.parse(client.text).body)).count, 100)
        XCTAssertThrowsError(try server.hub.publish([Event(data: "late")], to: "s"))
    }

    func testASlowReaderWithinTheBufferGetsEveryEventIntactAcrossShortWrites() throws {
        let server = try TestServer(["--buffer", "1000"])
        let client = try server.connect()
        var small: Int32 = 16384
        setsockopt(client.fd, SOL_SOCKET, SO_RCVBUF, &small, socklen_t(MemoryLayout<Int32>.size))
        client.send("GET /events/slow HTTP/1.1\r\n\r\n")
        XCTAssertTrue(client.read(untilContains: "retry:"))
        let payloads = (0..<300).map { i in "\(i):" + String(repeating: Character(UnicodeScalar(UInt8(65 + i % 26))), count: 5000) }
        for payload in payloads { try server.hub.publish([Event(data: payload)], to: "slow") }
        // The last event's chunk ends the stream so far; compare bytes, not text, as they come.
        let ending = Array((payloads[299].suffix(10) + "\n\n\r\n").utf8)
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline && !client.received.suffix(ending.count).elementsEqual(ending) && !client.closedByPeer {
            client.readOnce()
        }
        let events = EventStreamText.events(EventStreamText.dechunk(HTTPClient.parse(client.text).body))
        XCTAssertEqual(events.count, 300)
        XCTAssertEqual(events.map(\.data), payloads)
    }

    func testALiveEventReachesSubscribersEvenWhenAnotherClientSubscribesInTheSamePass() throws {
        let server = try TestServer(["--threads", "1"])
        let watcher = try server.connect()
        watcher.send("GET /events/a HTTP/1.1\r\n\r\n")
        XCTAssertTrue(watcher.read(untilContains: "retry:"))
        let other = try server.connect()
        other.send("POST /events/a HTTP/1.1\r\nContent-Length: 5\r\n\r\nhelloGET /events/b HTTP/1.1\r\n\r\n")
        XCTAssertTrue(other.read(untilContains: "retry:"))
        XCTAssertTrue(watcher.read(untilContains: "data: hello\n", timeout: 3), "the event waited for the next one")
    }

    func testAReaderKeepingUpSkipsAheadWithANoticeWhenOneBurstOverrunsTheBuffer() throws {
        let server = try TestServer(["--buffer", "50"])
        let client = try server.connect()
        client.send("GET /events/burst HTTP/1.1\r\n\r\n")
        XCTAssertTrue(client.read(untilContains: "retry:"))
        try server.hub.publish((0..<500).map { Event(data: "b\($0)") }, to: "burst")
        XCTAssertTrue(client.read(untilContains: "data: b499\n"))
        try server.hub.publish([Event(data: "after")], to: "burst")
        XCTAssertTrue(client.read(untilContains: "data: after\n"))
        XCTAssertFalse(client.closedByPeer)
        let events = EventStreamText.events(EventStreamText.dechunk(HTTPClient.parse(client.text).body))
        XCTAssertEqual(events.first?.type, "sse-gap")
        XCTAssertNil(events.first?.id)
        XCTAssertEqual(events.dropFirst().map(\.data), (450..<500).map { "b\($0)" } + ["after"])
    }

    func testOnceStoppingPublishingIsRefusedWhileStreamsStillRun() throws {
        let server = try TestServer()
        let stream = try server.connect()
        stream.send("GET /events/s HTTP/1.1\r\n\r\n")
        XCTAssertTrue(stream.read(untilContains: "retry:"))
        let publisher = try server.connect()
        publisher.send("GET /healthz HTTP/1.1\r\n\r\n")
        XCTAssertTrue(publisher.read(untilContains: "ok\n"))
        server.app.server.stopAccepting()
        publisher.send("POST /events/s HTTP/1.1\r\nContent-Length: 4\r\n\r\nlate")
        XCTAssertTrue(publisher.read(untilContains: "HTTP/1.1 503 "))
        // A stream gets everything accepted before it ends: read it to its end.
        let stopped = DispatchSemaphore(value: 0)
        DispatchQueue.global().async { [app = server.app] in
            app.server.shutdown(grace: 5)
            stopped.signal()
        }
        XCTAssertTrue(stream.read(until: { $0.hasSuffix("\r\n0\r\n\r\n") }), "the stream ends with the final chunk")
        // Both clients hang up, so the server need not wait out its lingering close.
        stream.shutdownWrite()
        publisher.shutdownWrite()
        XCTAssertEqual(stopped.wait(timeout: .now() + 5), .success)
        XCTAssertFalse(stream.text.contains("late"))
    }

    func testGzipStreamIsCompressedAndFlushedPerEvent() throws {
        let server = try TestServer(["--gzip"])
        let client = try server.connect()
        client.send("GET /events/gz HTTP/1.1\r\nAccept-Encoding: gzip\r\n\r\n")
        XCTAssertTrue(client.read(untilContains: "\r\n\r\n"))
        XCTAssertEqual(HTTPClient.parse(client.text).headers["content-encoding"], "gzip")
        try server.hub.publish([Event(data: "compressed")], to: "gz")
        server.stop()
        client.readToEnd()
        let body = Array(EventStreamText.dechunkBytes(Array(client.received[(client.received.firstRange(of: Array("\r\n\r\n".utf8))!.upperBound)...])))
        XCTAssertEqual(Array(body.prefix(2)), [0x1F, 0x8B])
        let plain = try gunzip(body)
        XCTAssertTrue(plain.hasPrefix("retry: 3000\n\nid: "))
        XCTAssertTrue(plain.hasSuffix("data: compressed\n\n"))
    }

    private func gunzip(_ bytes: [UInt8]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/gzip")
        process.arguments = ["-dc"]
        let input = Pipe()
        let output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        try process.run()
        input.fileHandleForWriting.write(Data(bytes))
        try input.fileHandleForWriting.close()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }
}

extension EventStreamText {
    static func dechunkBytes(_ bytes: [UInt8]) -> [UInt8] {
        var rest = bytes[...]
        var out: [UInt8] = []
        while let lineEnd = rest.firstIndex(of: 0x0A) {
            let sizeText = String(decoding: rest[rest.startIndex..<lineEnd], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            guard let size = Int(sizeText, radix: 16), size > 0 else { break }
            let start = lineEnd + 1
            guard rest.endIndex >= start + size else { break }
            out += rest[start..<start + size]
            rest = rest[min(rest.endIndex, start + size + 2)...]
        }
        return out
    }
}
