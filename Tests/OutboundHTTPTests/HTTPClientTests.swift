import Foundation
import Glibc
import HTTP
import Reactor
import Synchronization
import XCTest

@testable import OutboundHTTP

final class HTTPClientTests: XCTestCase {
    var runner: LoopRunner!
    var client: HTTPClient!
    var servers: [RawServer] = []

    func start(manualClock: Bool = false, configuration: HTTPClientConfiguration = HTTPClientConfiguration()) {
        runner = LoopRunner(manualClock: manualClock)
        client = HTTPClient(loop: runner.loop, configuration: configuration)
    }

    override func tearDown() {
        if let client { runner.sync { client.shutdown() } }
        runner?.stop()
        for server in servers { server.stop() }
        client = nil
        runner = nil
    }

    func server(_ script: @escaping @Sendable (RawPeer, Int) -> Void) -> RawServer {
        let server = try! RawServer(script)
        servers.append(server)
        return server
    }

    func request(_ url: String, method: String = "GET", headers: [(String, String)] = [], body: [UInt8]? = nil,
                 timeout: Double = 5, maxBody: Int = 1 << 20) -> OutboundRequest {
        OutboundRequest(
            method: method, url: try! HTTPURL.parse(url), headers: headers.map { (name: $0.0, value: $0.1) }, body: body,
            timeoutNanos: UInt64(timeout * 1e9), maxBodyBytes: maxBody)
    }

    func send(_ request: OutboundRequest) -> Result<OutboundResponse, OutboundError>? {
        let client = client!
        return runner.call { reply in client.execute(request) { reply($0) } }
    }

    func response(_ request: OutboundRequest, file: StaticString = #filePath, line: UInt = #line) -> OutboundResponse? {
        switch send(request) {
        case .success(let response)?: return response
        case .failure(let error)?:
            XCTFail("failed: \(error)", file: file, line: line)
            return nil
        case nil:
            XCTFail("no answer in time", file: file, line: line)
            return nil
        }
    }

    func failure(_ request: OutboundRequest, file: StaticString = #filePath, line: UInt = #line) -> OutboundError? {
        switch send(request) {
        case .success(let response)?:
            XCTFail("succeeded with \(response.status)", file: file, line: line)
            return nil
        case .failure(let error)?: return error
        case nil:
            XCTFail("no answer in time", file: file, line: line)
            return nil
        }
    }

    // MARK: - bodies

    func testContentLengthAnswerAndWhatWasSent() {
        start()
        let seen = Mutex<String>("")
        let origin = server { peer, _ in
            guard let request = peer.readRequest() else { return }
            seen.withLock { $0 = request }
            peer.send("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-Thing: one\r\nx-thing: two\r\nContent-Length: 5\r\n\r\nhello")
            _ = peer.waitForClose()
        }
        guard let answer = response(request(origin.url + "/auth?x=1", headers: [("Cookie", "a=b")])) else { return }
        XCTAssertEqual(answer.status, 200)
        XCTAssertEqual(answer.text, "hello")
        XCTAssertEqual(answer.header("content-type"), "text/plain")
        XCTAssertEqual(answer.headerValues("X-THING"), ["one", "two"])
        let sent = seen.withLock { $0 }
        XCTAssertTrue(sent.hasPrefix("GET /auth?x=1 HTTP/1.1\r\nHost: 127.0.0.1:\(origin.port)\r\n"), sent)
        XCTAssertTrue(sent.contains("\r\nCookie: a=b\r\n"), sent)
        XCTAssertTrue(sent.contains("\r\nUser-Agent: sse-serve\r\n"), sent)
    }

    func testPostSendsItsBody() {
        start()
        let seen = Mutex<String>("")
        let origin = server { peer, _ in
            guard let request = peer.readRequest() else { return }
            seen.withLock { $0 = request }
            peer.send("HTTP/1.1 204 No Content\r\n\r\n")
            _ = peer.waitForClose()
        }
        let body = Array(#"{"events":[]}"#.utf8)
        guard let answer = response(request(origin.url + "/hook", method: "POST", headers: [("Content-Type", "application/json")], body: body))
        else { return }
        XCTAssertEqual(answer.status, 204)
        XCTAssertEqual(answer.body, [])
        let sent = seen.withLock { $0 }
        XCTAssertTrue(sent.hasPrefix("POST /hook HTTP/1.1\r\n"), sent)
        XCTAssertTrue(sent.contains("\r\nContent-Length: 13\r\n"), sent)
        XCTAssertTrue(sent.hasSuffix("\r\n\r\n" + #"{"events":[]}"#), sent)
    }

    func testChunkedAnswerSentOneByteAtATime() {
        start()
        let origin = server { peer, _ in
            guard peer.readRequest() != nil else { return }
            let text = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n7\r\n, world\r\n0\r\nTrailer: x\r\n\r\n"
            for byte in text.utf8 { peer.send([byte]) }
            _ = peer.waitForClose()
        }
        guard let answer = response(request(origin.url + "/")) else { return }
        XCTAssertEqual(answer.text, "hello, world")
        XCTAssertEqual(runner.sync { self.client.idleConnections }, 1)
    }

    func testCloseDelimitedAnswer() {
        start()
        let origin = server { peer, _ in
            guard peer.readRequest() != nil else { return }
            peer.send("HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end")
        }
        guard let answer = response(request(origin.url + "/")) else { return }
        XCTAssertEqual(answer.text, "until the end")
        XCTAssertEqual(runner.sync { self.client.idleConnections }, 0)
        XCTAssertEqual(runner.sync { self.client.openConnections }, 0)
    }

    // MARK: - failures

    func testSlowAnswerTimesOutOnTheLoopsClock() {
        start(manualClock: true)
        let received = Flag()
        let release = Flag()
        let origin = server { peer, _ in
            guard peer.readRequest() != nil else { return }
            received.raise()
            release.wait()
        }
        let client = client!
        let outcome = Mutex<Result<OutboundResponse, OutboundError>?>(nil)
        let answered = Flag()
        let request = request(origin.url + "/slow", timeout: 1)
        runner.loop.execute {
            client.execute(request) { result in
                outcome.withLock { $0 = result }
                answered.raise()
            }
        }
        XCTAssertTrue(received.wait())
        XCTAssertNil(outcome.withLock { $0 }, "nothing before the deadline")
        runner.advance(seconds: 0.5)
        XCTAssertNil(runner.sync { outcome.withLock { $0 } } ?? nil)
        runner.advance(seconds: 0.6)
        XCTAssertTrue(answered.wait())
        release.raise()
        guard case .failure(let error)? = outcome.withLock({ $0 }) else { return XCTFail("expected a timeout") }
        XCTAssertEqual(error.kind, .timeout)
        XCTAssertTrue(error.message.contains("timed out after 1000 ms"), error.message)
        XCTAssertEqual(runner.sync { client.openConnections }, 0)
    }

    func testClosedMidAnswer() {
        start()
        let origin = server { peer, _ in
            guard peer.readRequest() != nil else { return }
            peer.send("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly ten b")
        }
        let error = failure(request(origin.url + "/"))
        XCTAssertEqual(error?.kind, .closed)
        XCTAssertTrue(error?.message.contains("before the response body ended") ?? false, "\(String(describing: error))")
    }

    func testGarbageIsAnError() {
        start()
        let origin = server { peer, _ in
            guard peer.readRequest() != nil else { return }
            peer.send("SSH-2.0-OpenSSH_9.6\r\n\r\n")
            _ = peer.waitForClose()
        }
        let error = failure(request(origin.url + "/"))
        XCTAssertEqual(error?.kind, .malformedResponse)
        XCTAssertTrue(error?.message.contains("malformed status line") ?? false, "\(String(describing: error))")
    }

    func testOversizedBodiesAreErrors() {
        start()
        let origin = server { peer, index in
            guard peer.readRequest() != nil else { return }
            if index == 1 {
                peer.send("HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n" + String(repeating: "x", count: 5000))
            } else {
                peer.send("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
                for _ in 0..<10 { peer.send("200\r\n" + String(repeating: "y", count: 512) + "\r\n") }
                peer.send("0\r\n\r\n")
            }
            _ = peer.waitForClose()
        }
        let first = failure(request(origin.url + "/", maxBody: 1000))
        XCTAssertEqual(first?.kind, .bodyTooLarge)
        XCTAssertTrue(first?.message.contains("over 1000 bytes") ?? false)
        XCTAssertEqual(failure(request(origin.url + "/", maxBody: 4096))?.kind, .bodyTooLarge)
        XCTAssertEqual(runner.sync { self.client.openConnections }, 0)
    }

    func testRefusedConnectionAndBadRequests() throws {
        start()
        let (fd, port) = try Socket.listen(host: "127.0.0.1", port: 0)
        Glibc.close(fd)  // nothing listens there now
        XCTAssertEqual(failure(request("http://127.0.0.1:\(port)/"))?.kind, .connect)
        let injected = failure(request("http://127.0.0.1:\(port)/", headers: [("X-A", "b\r\nX-Evil: 1")]))
        XCTAssertEqual(injected?.kind, .invalidRequest)
        XCTAssertThrowsError(try HTTPURL.parse("https://app.example/auth")) { error in
            let message = (error as? HTTPURLError)?.message ?? ""
            XCTAssertTrue(message.contains("no TLS built in") && message.contains("stunnel") && message.contains("caddy"), message)
        }
    }

    // MARK: - the pool

    func testKeepAliveReusesOneConnection() {
        start()
        let origin = server { peer, _ in
            var n = 0
            while peer.readRequest() != nil {
                n += 1
                peer.send("HTTP/1.1 200 OK\r\nContent-Length: \(String(n).count)\r\n\r\n\(n)")
            }
        }
        for expected in 1...3 {
            XCTAssertEqual(response(request(origin.url + "/n"))?.text, "\(expected)")
        }
        XCTAssertEqual(origin.acceptedConnections, 1)
        XCTAssertEqual(runner.sync { self.client.idleConnections }, 1)
    }

    func testConnectionClosedByTheServerWhileIdleIsNotReused() {
        start()
        let origin = server { peer, _ in
            guard peer.readRequest() != nil else { return }
            peer.send("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
            // Then the server's own idle timeout closes it.
        }
        XCTAssertEqual(response(request(origin.url + "/"))?.text, "ok")
        XCTAssertTrue(waitUntil { self.runner.sync { self.client.idleConnections } == 0 }, "the close was noticed")
        XCTAssertEqual(response(request(origin.url + "/"))?.text, "ok")
        XCTAssertEqual(origin.acceptedConnections, 2)
    }

    func testAReusedConnectionThatFailsBeforeAnsweringIsRetriedOnce() {
        start()
        let origin = server { peer, index in
            guard peer.readRequest() != nil else { return }
            peer.send("HTTP/1.1 200 OK\r\nContent-Length: \(index == 1 ? 5 : 6)\r\n\r\n\(index == 1 ? "first" : "second")")
            // The first connection takes the next request and drops it unanswered.
            if index == 1 { _ = peer.readRequest() }
        }
        XCTAssertEqual(response(request(origin.url + "/"))?.text, "first")
        XCTAssertEqual(response(request(origin.url + "/"))?.text, "second")
        XCTAssertEqual(origin.acceptedConnections, 2)
    }

    func testIdleConnectionsCloseAfterTheIdleTimeout() {
        start(manualClock: true, configuration: HTTPClientConfiguration(idleTimeoutNanos: 30_000_000_000))
        let closed = Flag()
        let origin = server { peer, _ in
            guard peer.readRequest() != nil else { return }
            peer.send("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
            if peer.waitForClose() { closed.raise() }
        }
        XCTAssertEqual(response(request(origin.url + "/"))?.status, 200)
        XCTAssertEqual(runner.sync { self.client.idleConnections }, 1)
        runner.advance(seconds: 31)
        XCTAssertTrue(closed.wait())
        XCTAssertEqual(runner.sync { self.client.idleConnections }, 0)
    }

    func testRequestsOverTheConnectionLimitWaitTheirTurn() {
        start(configuration: HTTPClientConfiguration(maxConnectionsPerHost: 1))
        let origin = server { peer, _ in
            while let request = peer.readRequest() {
                let path = request.split(separator: " ")[1]
                peer.send("HTTP/1.1 200 OK\r\nContent-Length: \(path.utf8.count)\r\n\r\n\(path)")
            }
        }
        let client = client!
        let requests = (1...3).map { request(origin.url + "/\($0)") }
        let texts: [String]? = runner.call { reply in
            var answers: [String] = []
            for request in requests {
                client.execute(request) { result in
                    answers.append((try? result.get().text) ?? "failed")
                    if answers.count == requests.count { reply(answers) }
                }
            }
        }
        XCTAssertEqual(texts, ["/1", "/2", "/3"])
        XCTAssertEqual(origin.acceptedConnections, 1)
    }

    // MARK: - streaming

    func testStreamHandsOnBytesAsTheyComeAndCancels() {
        start()
        let next = Flag()
        let closed = Flag()
        let origin = server { peer, _ in
            guard peer.readRequest() != nil else { return }
            peer.send("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n")
            peer.send("a\r\ndata: one\n\r\n")
            next.wait()
            peer.send("a\r\ndata: two\n\r\n")
            if peer.waitForClose() { closed.raise() }
        }
        let client = client!
        let received = Mutex<[String]>([])
        let head = Mutex<ResponseHead?>(nil)
        let ended = Flag()
        let gotOne = Flag()
        let gotTwo = Flag()
        let request = request(origin.url + "/events/x")
        final class HandleBox: @unchecked Sendable { var handle: RequestHandle? }
        let handle = HandleBox()
        runner.loop.execute {
            let h = client.stream(
                request, idleTimeoutNanos: 60_000_000_000,
                onHead: { h in head.withLock { $0 = h } },
                onBytes: { bytes in
                    let text = String(decoding: bytes, as: UTF8.self)
                    let count = received.withLock { $0.append(text); return $0.joined().count }
                    if count == 10 { gotOne.raise() }
                    if count == 20 { gotTwo.raise() }
                },
                onEnd: { _ in ended.raise() })
            handle.handle = h
        }
        XCTAssertTrue(gotOne.wait())
        XCTAssertEqual(head.withLock { $0 }?.mediaType, "text/event-stream")
        next.raise()
        XCTAssertTrue(gotTwo.wait())
        XCTAssertEqual(received.withLock { $0.joined() }, "data: one\ndata: two\n")
        _ = runner.sync { handle.handle?.cancel() }
        XCTAssertTrue(closed.wait(), "cancel closes the connection")
        XCTAssertFalse(ended.wait(timeout: 0.05), "no callback after cancel")
        XCTAssertEqual(runner.sync { client.openConnections }, 0)
    }

    func testStreamEndsWhenTheBodyEnds() {
        start()
        let origin = server { peer, _ in
            guard peer.readRequest() != nil else { return }
            peer.send("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc")
            _ = peer.waitForClose()
        }
        let client = client!
        let request = request(origin.url + "/")
        let result: (String, Bool)? = runner.call { reply in
            var text = ""
            client.stream(
                request, onHead: { _ in }, onBytes: { text += String(decoding: $0, as: UTF8.self) },
                onEnd: { reply((text, (try? $0.get()) != nil)) })
        }
        XCTAssertEqual(result?.0, "abc")
        XCTAssertEqual(result?.1, true)
        XCTAssertEqual(runner.sync { client.idleConnections }, 1)
    }

    func testURLs() throws {
        let url = try HTTPURL.parse("http://[::1]:9000/events/a/b?x=1")
        XCTAssertEqual(url.host, "::1")
        XCTAssertEqual(url.port, 9000)
        XCTAssertEqual(url.path, "/events/a/b")
        XCTAssertEqual(url.description, "http://[::1]:9000/events/a/b?x=1")
        XCTAssertEqual(try HTTPURL.parse("http://app").target, "/")
    }
}
