import EventStream
import Foundation
import Glibc
import HTTP
import OutboundHTTP
import Reactor
import Synchronization
import XCTest

@testable import App
@testable import Feeds
@testable import Server

/// A whole server in this process on 127.0.0.1, with the sources named.
private final class LocalServer {
    let app: Application
    var sources: [any Source] = []
    var port: Int { app.server.port }
    var hub: Hub { app.server.hub }
    var url: String { "http://127.0.0.1:\(port)" }

    /// `beforeStart` runs on the hub before the port is bound (events that exist
    /// before any client can connect).
    init(port: Int = 0, _ arguments: [String] = [], sources: [String] = [], logger: Logger = .silent, beforeStart: (Hub) -> Void = { _ in })
        throws
    {
        let options = try CommandLineOptions.parse(["--host", "127.0.0.1", "--port", "\(port)", "--threads", "1"] + arguments)
        app = Application(options: options, logger: logger)
        beforeStart(app.server.hub)
        try app.server.start()
        for text in sources {
            let source = try SourceSpec.parse(text).makeSource(options: SourceOptions())
            try source.start(hub: app.server.hub, logger: logger)
            self.sources.append(source)
        }
    }

    func subscribers(_ channel: String) -> Int { hub.channelInfos().first { $0.name == channel }?.subscribers ?? 0 }

    func publish(_ data: String, type: String = "message", to channel: String = "news") {
        _ = try? hub.publish([Event(type: type, data: data)], to: channel)
    }

    func stop() {
        XCTAssertTrue(sources.stopAll(timeout: 2), "the sources stop")
        app.server.shutdown(grace: 1)
    }
}

/// An EventSource-like reader of one stream, on its own loop, with the events it got.
private final class StreamReader: @unchecked Sendable {
    let loop: EventLoop
    private let done = DispatchSemaphore(value: 0)
    private let received = Mutex<[ParsedEvent]>([])
    /// Kept alive here: the client does not keep itself.
    private var client: HTTPClient?

    init(url: String) throws {
        loop = try EventLoop()
        let loop = loop
        Thread {
            loop.run()
            self.done.signal()
        }.start()
        let request = OutboundRequest(url: try HTTPURL.parse(url), headers: [("Accept", "text/event-stream")])
        loop.execute { [self] in
            let client = HTTPClient(loop: loop)
            self.client = client
            var parser = EventStreamParser()
            client.stream(
                request, onHead: { _ in },
                onBytes: { bytes in
                    parser.feed(bytes) { output in
                        if case .event(let event) = output { self.received.withLock { $0.append(event) } }
                    }
                }, onEnd: { _ in })
        }
    }

    var events: [ParsedEvent] { received.withLock { $0 } }

    func stop() {
        loop.execute { [self] in client?.shutdown() }
        loop.stop()
        _ = done.wait(timeout: .now() + 2)
    }
}

final class RelaySourceTests: XCTestCase {
    func testSpecs() throws {
        let spec = try SourceSpec.parse("sse:http://127.0.0.1:8080/events/news")
        XCTAssertEqual(spec, SourceSpec(kind: "sse", argument: "http://127.0.0.1:8080/events/news", channel: "news"))
        XCTAssertEqual(try SourceSpec.parse("sse:http://[::1]:8080/events/a/b%7Ec?x=1").channel, "b~c")
        XCTAssertEqual(try SourceSpec.parse("sse:http://origin/events/news@local").channel, "local")
        XCTAssertEqual(try SourceSpec.parse("sse:http://origin/@local").channel, "local")
        func refusal(_ text: String) -> String {
            do {
                _ = try SourceSpec.parse(text).makeSource(options: SourceOptions())
                return "accepted"
            } catch {
                return error.message
            }
        }
        XCTAssertTrue(refusal("sse:https://origin/events/news").contains("no TLS built in"))
        XCTAssertTrue(refusal("sse:http://origin/").contains("add @CHANNEL"))
        XCTAssertTrue(refusal("sse:origin/events/x").contains("not an http:// URL"))
        XCTAssertTrue(refusal("sse:http://origin/events/x@presence/x").contains("server's own"))
        XCTAssertTrue(refusal("sse").contains("missing the argument"))
    }

    func testOriginEdgeEdgeDeliversEveryEventOnceInOrderAcrossAnOriginRestart() throws {
        var origin: LocalServer? = try LocalServer(["--retry", "100"])
        let port = origin!.port
        let edge1 = try LocalServer(["--retry", "100"], sources: ["sse:http://127.0.0.1:\(port)/events/news"])
        defer { edge1.stop() }
        let edge2 = try LocalServer(sources: ["sse:\(edge1.url)/events/news"])
        defer { edge2.stop() }
        XCTAssertTrue(waitUntil { origin!.subscribers("news") == 1 && edge1.subscribers("news") == 1 }, "the relays are connected")
        let reader = try StreamReader(url: edge2.url + "/events/news")
        defer { reader.stop() }
        XCTAssertTrue(waitUntil { edge2.subscribers("news") == 1 })

        for n in 1...5 { origin!.publish("\(n)", type: n % 2 == 0 ? "tick" : "message") }
        XCTAssertTrue(waitUntil { reader.events.count == 5 }, "\(reader.events.map(\.data))")

        // The origin goes away; nothing can be published there meanwhile.
        origin!.stop()
        origin = nil
        XCTAssertTrue(waitUntil { edge1.subscribers("news") == 1 }, "the edges stay up")
        // Back on the same port, with events that exist before anyone can connect:
        // only the upstream Last-Event-ID brings them over.
        origin = try LocalServer(port: port, ["--retry", "100"]) { hub in
            for n in 6...8 { _ = try? hub.publish([Event(data: "\(n)")], to: "news") }
        }
        defer { origin?.stop() }
        XCTAssertTrue(waitUntil { origin!.subscribers("news") == 1 }, "the relay is back")
        for n in 9...10 { origin!.publish("\(n)", type: "tick") }
        XCTAssertTrue(waitUntil { reader.events.count >= 10 }, "\(reader.events.map(\.data))")

        let events = reader.events
        XCTAssertEqual(events.map(\.data), (1...10).map(String.init), "every event once, in order")
        XCTAssertEqual(events.map(\.type), ["message", "tick", "message", "tick", "message", "message", "message", "message", "tick", "tick"])
        let ids = events.compactMap { $0.id.flatMap { EventID(parsing: $0) } }
        XCTAssertEqual(ids.count, 10, "each with an id of the last edge")
        XCTAssertEqual(ids, ids.sorted())
        XCTAssertEqual(Set(ids).count, 10)
        XCTAssertEqual(datas(edge2.hub, "news"), (1...10).map(String.init))
        XCTAssertEqual(datas(edge1.hub, "news"), (1...10).map(String.init))
    }

    func testAnswersThatAreNotAnEventStreamAreLoggedAndRetried() throws {
        let origin = try LocalServer()
        defer { origin.stop() }
        let log = CapturedLog()
        let timing = RelayTiming(defaultRetryMillis: 20, maxBackoffMillis: 100)
        let missing = try RelaySource(url: origin.url + "/nothing/here", channel: "a", options: SourceOptions(), name: "missing", timing: timing)
        let wrongType = try RelaySource(url: origin.url + "/healthz", channel: "b", options: SourceOptions(), name: "wrong", timing: timing)
        try missing.start(hub: origin.hub, logger: log.logger)
        try wrongType.start(hub: origin.hub, logger: log.logger)
        XCTAssertTrue(waitUntil { log.text.components(separatedBy: "missing: \(origin.url)/nothing/here answered 404").count > 2 }, log.text)
        XCTAssertTrue(waitUntil { log.text.components(separatedBy: "instead of text/event-stream").count > 2 }, log.text)
        XCTAssertTrue([missing, wrongType].stopAll(timeout: 2), "stop ends them while they wait to retry")
    }

    func testStopEndsAConnectedRelay() throws {
        let origin = try LocalServer()
        defer { origin.stop() }
        let edge = try LocalServer(sources: ["sse:\(origin.url)/events/live"])
        XCTAssertTrue(waitUntil { origin.subscribers("live") == 1 })
        XCTAssertTrue(edge.sources.stopAll(timeout: 2))
        XCTAssertTrue(waitUntil { origin.subscribers("live") == 0 }, "the upstream connection is closed")
        edge.sources = []
        edge.stop()
    }
}

/// An upstream written by hand: each accepted connection gets the request it
/// sent recorded and the answer `script` gives for its number (1, 2, ...), then is closed.
private final class ScriptedUpstream: @unchecked Sendable {
    let port: Int
    private let listener: Int32
    private let stopped = Atomic<Bool>(false)
    private let requests = Mutex<[String]>([])

    init(_ answer: @escaping @Sendable (_ index: Int) -> String) throws {
        let (fd, port) = try Socket.listen(host: "127.0.0.1", port: 0)
        listener = fd
        self.port = port
        Thread { [self] in
            var index = 0
            while !stopped.load(ordering: .relaxed) {
                var fds = [pollfd(fd: listener, events: Int16(POLLIN), revents: 0)]
                guard poll(&fds, 1, 20) > 0 else { continue }
                let client = accept(listener, nil, nil)
                guard client >= 0 else { continue }
                _ = fcntl(client, F_SETFL, fcntl(client, F_GETFL) & ~O_NONBLOCK)
                var timeout = timeval(tv_sec: 5, tv_usec: 0)
                setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
                var received: [UInt8] = []
                var chunk = [UInt8](repeating: 0, count: 4096)
                while !String(decoding: received, as: UTF8.self).contains("\r\n\r\n") {
                    let n = chunk.withUnsafeMutableBytes { recv(client, $0.baseAddress, $0.count, 0) }
                    if n <= 0 { break }
                    received += chunk[0..<n]
                }
                index += 1
                requests.withLock { $0.append(String(decoding: received, as: UTF8.self)) }
                writeAll(client, answer(index))
                Glibc.close(client)
            }
            Glibc.close(listener)
        }.start()
    }

    var seen: [String] { requests.withLock { $0 } }

    func stop() { stopped.store(true, ordering: .relaxed) }
}

extension RelaySourceTests {
    func testReconnectsWithTheUpstreamsLastIdAfterItsRetryAndRelaysNoNotices() throws {
        let upstream = try ScriptedUpstream { index in
            let head = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n"
            switch index {
            case 1:
                return head + "retry: 30\n\nevent: sse-gap\ndata: {\"lost\":1}\n\nid: up-7\nevent: price\ndata: a\ndata: b\n\n: comment\n\nid: up-8\ndata: c\n\n"
            case 2:
                return head + "id: up-9\ndata: d\n\n"
            default:
                return "HTTP/1.1 503 Busy\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            }
        }
        defer { upstream.stop() }
        let hub = Hub(bufferSize: 100)
        let log = CapturedLog()
        // The default wait (a minute) would fail the test: only the upstream's retry: makes it quick.
        let relay = try RelaySource(
            url: "http://127.0.0.1:\(upstream.port)/events/up", channel: nil, options: SourceOptions(), name: nil,
            timing: RelayTiming(defaultRetryMillis: 60_000))
        try relay.start(hub: hub, logger: log.logger)
        defer { XCTAssertTrue([relay].stopAll(timeout: 2)) }
        XCTAssertTrue(waitUntil { datas(hub, "up").count == 3 }, "\(datas(hub, "up"))")
        XCTAssertEqual(events(hub, "up"), [Seen(type: "price", data: "a\nb"), Seen(type: "message", data: "c"), Seen(type: "message", data: "d")])
        XCTAssertTrue(waitUntil { upstream.seen.count >= 2 })
        let requests = upstream.seen
        XCTAssertFalse(requests[0].lowercased().contains("last-event-id"), requests[0])
        XCTAssertTrue(requests[0].hasPrefix("GET /events/up HTTP/1.1\r\n"), requests[0])
        XCTAssertTrue(requests[0].contains("Accept: text/event-stream\r\n"), requests[0])
        XCTAssertTrue(requests[1].contains("Last-Event-ID: up-8\r\n"), "the upstream's id, not ours: \(requests[1])")
        XCTAssertTrue(waitUntil { upstream.seen.count >= 3 })
        XCTAssertTrue(upstream.seen[2].contains("Last-Event-ID: up-9\r\n"), upstream.seen[2])
        XCTAssertTrue(log.text.contains("upstream notice sse-gap"), log.text)
        XCTAssertTrue(waitUntil { log.text.contains("answered 503 Busy") }, log.text)
    }
}
