import Foundation
import Glibc
import XCTest

/// The built `sse-cat` binary against a scripted raw-socket server and the real `sse-serve`.
final class SSECatEndToEndTests: XCTestCase {
    private func url(_ server: ScriptedServer, _ path: String = "/events/x") -> String { "http://127.0.0.1:\(server.port)\(path)" }

    func testFramingEdgeCasesSplitIntoSmallWrites() throws {
        let bom: [UInt8] = [0xEF, 0xBB, 0xBF]
        let body: [[UInt8]] = [
            [bom[0]], Array(bom[1...]) + Array("data: one\r".utf8), Array("\n\r\n: a comment\n".utf8), Array("data: two\rdata: 2b\r".utf8),
            Array("\rretry: 100\nevent: custom\nid: 7\ndata: \"three\"\n\n".utf8), Array("data: four\r".utf8), Array("\n\r".utf8),
            Array("\n".utf8), Array("data: unfinished\n".utf8),
        ]
        let server = try ScriptedServer([ScriptedServer.stream(body)])
        let result = try CatProcess.run(["--no-reconnect", "--last-event-id", "42", "-H", "X-Test: yes", url(server)])
        XCTAssertEqual(result.status, 0, result.errors)
        XCTAssertEqual(
            result.output,
            """
            {"event":"message","data":"one"}
            {"event":"message","data":"two\\n2b"}
            {"id":"7","event":"custom","data":"\\"three\\""}
            {"event":"message","data":"four"}

            """)
        XCTAssertEqual(result.errors, "")
        let request = try XCTUnwrap(server.requests.first)
        XCTAssertTrue(request.hasPrefix("GET /events/x HTTP/1.1\r\n"), request)
        for line in ["Host: 127.0.0.1:\(server.port)", "Accept: text/event-stream", "Cache-Control: no-cache", "Last-Event-ID: 42", "X-Test: yes"] {
            XCTAssertTrue(request.contains("\r\n\(line)"), "\(line) in \(request)")
        }
        XCTAssertFalse(request.lowercased().contains("accept-encoding"))
    }

    func testDataAndSSEFormatsAndTheEventFilter() throws {
        let body = ["event: a\ndata: 1\n\n", "data: 2\ndata: 2b\n\nid: 9\nevent: b\ndata: 3\n\n"]
        let server = try ScriptedServer([ScriptedServer.stream(body), ScriptedServer.stream(body), ScriptedServer.stream(body)])
        let data = try CatProcess.run(["--no-reconnect", "--format", "data", url(server)])
        XCTAssertEqual(data.output, "1\n2\n2b\n3\n")
        let sse = try CatProcess.run(["--no-reconnect", "--format", "sse", url(server)])
        XCTAssertEqual(sse.output, "event: a\ndata: 1\n\ndata: 2\ndata: 2b\n\nid: 9\nevent: b\ndata: 3\n\n")
        let filtered = try CatProcess.run(["--no-reconnect", "--format", "data", "--event", "b", "--event", "message", url(server)])
        XCTAssertEqual(filtered.output, "2\n2b\n3\n")
    }

    func testNoContentEndsWithZero() throws {
        let server = try ScriptedServer([ScriptedServer.raw(["HTTP/1.1 204 No Content\r\n", "\r\n"])])
        let result = try CatProcess.run([url(server)])
        XCTAssertEqual(result.status, 0)
        XCTAssertEqual(result.output, "")
    }

    func testClientErrorsExitOneWithTheStatus() throws {
        let server = try ScriptedServer([ScriptedServer.raw(["HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\n\r\nnot found"])])
        let result = try CatProcess.run([url(server)])
        XCTAssertEqual(result.status, 1)
        XCTAssertTrue(result.errors.contains("HTTP 404 Not Found"), result.errors)
    }

    func testAnAnswerThatIsNotAStreamExitsOneNamingTheType() throws {
        let server = try ScriptedServer([
            ScriptedServer.raw(["HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: 2\r\n\r\nhi"]),
            ScriptedServer.raw(["HTTP/1.1 202 Accepted\r\nContent-Type: text/event-stream\r\nContent-Length: 0\r\n\r\n"]),
        ])
        let html = try CatProcess.run([url(server)])
        XCTAssertEqual(html.status, 1)
        XCTAssertTrue(html.errors.contains("'text/html'"), html.errors)
        let accepted = try CatProcess.run([url(server)])
        XCTAssertEqual(accepted.status, 1)
        XCTAssertTrue(accepted.errors.contains("HTTP 202"), accepted.errors)
    }

    func testReconnectsAfterTheEndAndA503WithLastEventIDAndRetry() throws {
        let server = try ScriptedServer([
            ScriptedServer.stream(["retry: 20\n", "id: 1\ndata: a\n\n"]),
            ScriptedServer.raw(["HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nContent-Length: 0\r\n\r\n"]),
            ScriptedServer.stream(["data: b\n\n"], ends: false),
        ])
        let result = try CatProcess.run(["-n", "2", "--format", "data", url(server)])
        XCTAssertEqual(result.status, 0, result.errors)
        XCTAssertEqual(result.output, "a\nb\n")
        XCTAssertTrue(result.errors.contains("HTTP 503 Service Unavailable; reconnecting in 20 ms"), result.errors)
        let requests = server.requests
        XCTAssertEqual(requests.count, 3)
        XCTAssertFalse(requests[0].contains("Last-Event-ID"))
        XCTAssertTrue(requests[1].contains("\r\nLast-Event-ID: 1"), requests[1])
        XCTAssertTrue(requests[2].contains("\r\nLast-Event-ID: 1"), requests[2])
    }

    func testAClosedPipeEndsQuietlyWithZero() throws {
        let endless: ScriptedServer.Reply = { fd in
            guard ScriptedServer.write(fd, [ScriptedServer.streamHead]) else { return }
            let deadline = Date().addingTimeInterval(10)
            var n = 0
            while Date() < deadline {
                n += 1
                let event = "data: \(n)\n\n"
                guard ScriptedServer.write(fd, [String(event.utf8.count, radix: 16) + "\r\n" + event + "\r\n"]) else { return }
            }
        }
        let server = try ScriptedServer([endless])
        let process = Process()
        process.executableURL = try CatProcess.binary("sse-cat")
        process.arguments = ["--format", "data", url(server)]
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        process.standardInput = FileHandle.nullDevice
        try process.run()
        // Read a little, then go away as `head -n 1` does.
        let first = output.fileHandleForReading.availableData
        XCTAssertTrue(String(decoding: first, as: UTF8.self).hasPrefix("1\n"))
        try output.fileHandleForReading.close()
        XCTAssertTrue(CatProcess.waitForExit(process, timeout: 10), "sse-cat should notice the closed pipe")
        XCTAssertEqual(process.terminationReason, .exit)
        XCTAssertEqual(process.terminationStatus, 0)
        XCTAssertEqual(String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self), "")
    }

    func testBadUsageAndHTTPSExitTwo() throws {
        let https = try CatProcess.run(["https://example.com/events"])
        XCTAssertEqual(https.status, 2)
        XCTAssertTrue(https.errors.contains("no TLS built in"), https.errors)
        XCTAssertEqual(try CatProcess.run(["http://h:99999/"]).status, 2)
        XCTAssertEqual(try CatProcess.run(["--format", "xml", "http://h/"]).status, 2)
        let help = try CatProcess.run(["--help"])
        XCTAssertEqual(help.status, 0)
        XCTAssertTrue(help.output.hasPrefix("usage: sse-cat [OPTIONS] URL"))
    }

    func testReadsWhatSSEServeReplaysAndItsJSONLinesFeedSSEServeBack() throws {
        // A server with a stdin source that stays open, so it keeps running.
        let input = Pipe()
        let server = Process()
        server.executableURL = try CatProcess.binary("sse-serve")
        server.arguments = ["--port", "0", "--quiet", "--format", "json", "stdin@copy"]
        let errors = Pipe()
        server.standardError = errors
        server.standardOutput = FileHandle.nullDevice
        server.standardInput = input
        try server.run()
        defer {
            server.terminate()
            CatProcess.waitForExit(server, timeout: 10)
        }
        var text = ""
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline, !text.contains("\n") {
            let chunk = errors.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            text += String(decoding: chunk, as: UTF8.self)
        }
        let first = text.split(separator: "\n").first.map(String.init) ?? ""
        let port = try XCTUnwrap(Int(first.split(separator: ":").last ?? ""), "no port in \(text)")
        for body in ["first", "two\nlines"] {
            XCTAssertEqual(try post(port: port, path: "/events/news?event=note", body: body), 200)
        }
        // Published before sse-cat connects: it asks for everything buffered, then stops after two.
        let result = try CatProcess.run(["-n", "2", "--last-event-id", "0", "http://127.0.0.1:\(port)/events/news"])
        XCTAssertEqual(result.status, 0, result.errors)
        let lines = result.output.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.count, 2)
        XCTAssertTrue(lines[0].hasPrefix("{\"id\":\""), lines[0])
        XCTAssertTrue(lines[1].hasSuffix(",\"event\":\"note\",\"data\":\"two\\nlines\"}"), lines[1])
        // The lines go back in through --format json (the id is ignored) and come out the same.
        input.fileHandleForWriting.write(Data(result.output.utf8))
        let copied = try CatProcess.run(["-n", "2", "--format", "sse", "--last-event-id", "0", "http://127.0.0.1:\(port)/events/copy"])
        XCTAssertEqual(copied.status, 0, copied.errors)
        XCTAssertEqual(copied.output.split(separator: "\n").filter { !$0.hasPrefix("id:") }, ["event: note", "data: first", "event: note", "data: two", "data: lines"])
    }

    /// A POST over a raw socket; returns the status.
    private func post(port: Int, path: String, body: String) throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw POSIXError(.ECONNREFUSED) }
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        ScriptedServer.write(fd, ["POST \(path) HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)"])
        var reply: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            reply += chunk[0..<n]
        }
        let statusLine = String(decoding: reply, as: UTF8.self).split(separator: "\r\n").first ?? ""
        return Int(statusLine.split(separator: " ").dropFirst().first ?? "") ?? 0
    }
}
