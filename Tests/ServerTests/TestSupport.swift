import Foundation
import Glibc
import XCTest

@testable import App
@testable import Server
import EventStream
import Feeds
import Reactor

/// A server started in-process on an ephemeral port, stopped at the end of a test.
final class TestServer {
    let app: Application
    var port: Int { app.server.port }
    var hub: Hub { app.server.hub }

    /// Starts with `arguments` as on the command line (plus `--port 0`); only the
    /// sources named are started: with none, no default (stdin or ticker) either,
    /// since `Application.start`, which picks that default, is not called.
    init(_ arguments: [String] = [], file: StaticString = #filePath, line: UInt = #line) throws {
        let options = try CommandLineOptions.parse(["--port", "0", "--threads", "2"] + arguments)
        app = Application(options: options, logger: .silent)
        try app.server.start()
        app.startStore()
        for spec in options.sources {
            let source = try spec.makeSource(options: .init(format: options.server.format))
            try source.start(hub: app.server.hub, logger: .silent)
            sources.append(source)
        }
    }

    /// The sources named in the arguments, stopped with the server.
    private var sources: [any Source] = []

    func stop() {
        app.server.stopAccepting()
        sources.stopAll(timeout: 2)
        sources = []
        app.server.shutdown(grace: 2)
        app.stopStore()
    }

    deinit {
        sources.stopAll(timeout: 1)
        app.server.shutdown(grace: 0.5)
        app.stopStore()
    }

    func connect() throws -> RawClient { try RawClient(port: port) }
}

/// A blocking TCP client on loopback with timeouts, for raw bytes on the wire.
final class RawClient {
    let fd: Int32
    private(set) var received: [UInt8] = []
    private(set) var closedByPeer = false

    init(port: Int, host: String = "127.0.0.1") throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        inet_pton(AF_INET, host, &address.sin_addr)
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard rc == 0 else { throw SystemError("connect") }
        var timeout = timeval(tv_sec: 0, tv_usec: 100_000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { Glibc.close(fd) }

    func send(_ text: String) { send(Array(text.utf8)) }

    func send(_ bytes: [UInt8]) {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return }
            offset += n
        }
    }

    func shutdownWrite() { Glibc.shutdown(fd, Int32(SHUT_WR)) }

    /// Reads once (up to 100 ms); false when the peer has closed.
    @discardableResult
    func readOnce() -> Bool {
        var buffer = [UInt8](repeating: 0, count: 65536)
        let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if n > 0 {
            received += buffer[0..<n]
            return true
        }
        if n == 0 { closedByPeer = true }
        if n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR { closedByPeer = true }
        return !closedByPeer
    }

    var text: String { String(decoding: received, as: UTF8.self) }

    /// Reads until `condition` holds on what was received, the peer closes, or `timeout` passes.
    @discardableResult
    func read(until condition: (String) -> Bool, timeout: Double = 5) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if condition(text) { return true }
            if closedByPeer { return condition(text) }
            readOnce()
        }
        return condition(text)
    }

    func read(untilContains needle: String, timeout: Double = 5) -> Bool {
        read(until: { $0.contains(needle) }, timeout: timeout)
    }

    /// Reads until the peer closes (or `timeout`).
    func readToEnd(timeout: Double = 5) {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline && !closedByPeer { readOnce() }
    }
}

/// One-shot HTTP exchanges over a fresh connection.
enum HTTPClient {
    struct Reply {
        var status: Int
        var headers: [String: String]
        var body: String
    }

    /// Sends `request` (a whole raw request) and reads one response with Content-Length.
    static func exchange(_ port: Int, _ request: String) throws -> Reply {
        let client = try RawClient(port: port)
        client.send(request)
        client.read(until: { text in
            guard let end = text.range(of: "\r\n\r\n") else { return false }
            let head = text[..<end.lowerBound].lowercased()
            if let line = head.split(separator: "\r\n").first(where: { $0.hasPrefix("content-length:") }),
                let length = Int(line.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces))
            {
                return text.utf8.count - text.utf8.distance(from: text.utf8.startIndex, to: end.upperBound.samePosition(in: text.utf8)!) >= length
            }
            return true
        })
        return parse(client.text)
    }

    static func parse(_ text: String) -> Reply {
        guard let end = text.range(of: "\r\n\r\n") else { return Reply(status: 0, headers: [:], body: text) }
        let lines = text[..<end.lowerBound].split(separator: "\r\n")
        let status = lines.first.flatMap { Int($0.split(separator: " ")[1]) } ?? 0
        var headers: [String: String] = [:]
        for line in lines.dropFirst() {
            if let colon = line.firstIndex(of: ":") {
                headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            }
        }
        return Reply(status: status, headers: headers, body: String(text[end.upperBound...]))
    }

    static func get(_ port: Int, _ path: String, headers: String = "") throws -> Reply {
        try exchange(port, "GET \(path) HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\(headers)\r\n")
    }

    static func post(_ port: Int, _ path: String, body: String, contentType: String = "text/plain", headers: String = "") throws -> Reply {
        try exchange(
            port,
            "POST \(path) HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: \(contentType)\r\nContent-Length: \(body.utf8.count)\r\n\(headers)\r\n\(body)")
    }
}

/// Splits an event-stream body (chunk framing already removed) into events.
struct ParsedEvent: Equatable {
    var id: String?
    var type: String
    var data: String
}

enum EventStreamText {
    /// Removes HTTP/1.1 chunk framing from a response body.
    static func dechunk(_ body: String) -> String {
        var bytes = Array(body.utf8)[...]
        var out: [UInt8] = []
        while let lineEnd = bytes.firstIndex(of: 0x0A) {
            let sizeText = String(decoding: bytes[bytes.startIndex..<lineEnd], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            guard let size = Int(sizeText, radix: 16) else { break }
            let start = lineEnd + 1
            guard bytes.endIndex >= start + size else { break }
            out += bytes[start..<start + size]
            bytes = bytes[min(bytes.endIndex, start + size + 2)...]
            if size == 0 { break }
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func events(_ stream: String) -> [ParsedEvent] {
        var result: [ParsedEvent] = []
        for block in stream.components(separatedBy: "\n\n") {
            var id: String?
            var type = "message"
            var data: [String] = []
            for line in block.split(separator: "\n", omittingEmptySubsequences: true) {
                if line.hasPrefix("id: ") { id = String(line.dropFirst(4)) }
                if line.hasPrefix("event: ") { type = String(line.dropFirst(7)) }
                if line.hasPrefix("data: ") { data.append(String(line.dropFirst(6))) }
                if line == "data:" { data.append("") }
            }
            if !data.isEmpty { result.append(ParsedEvent(id: id, type: type, data: data.joined(separator: "\n"))) }
        }
        return result
    }
}
