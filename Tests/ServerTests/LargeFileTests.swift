import Foundation
import Glibc
import XCTest

@testable import Server

/// A large static file goes out in pieces as the client takes them: intact,
/// byte for byte, to a reader with a small receive buffer, while the same
/// loop answers other connections.
final class LargeFileTests: XCTestCase {
    /// A client socket with a small receive buffer (set before connecting, so
    /// the window stays small) and a read timeout.
    private func slowClient(port: Int) throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var size: Int32 = 4096
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        inet_pton(AF_INET, "127.0.0.1", &address.sin_addr)
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard rc == 0 else {
            close(fd)
            throw XCTSkip("cannot connect")
        }
        return fd
    }

    /// Reads (4 KiB at a time) until `received` holds `count` bytes; false on close, error or timeout.
    private func read(_ fd: Int32, into received: inout [UInt8], until count: Int) -> Bool {
        var buffer = [UInt8](repeating: 0, count: 4096)
        let deadline = Date().addingTimeInterval(10)
        while received.count < count && Date() < deadline {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { return false }
            received += buffer[0..<n]
        }
        return received.count >= count
    }

    func testALargeFileIsSentIntactToASlowReaderWhileOthersAreAnswered() throws {
        let folder = NSTemporaryDirectory() + "/large-file-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        // Text (a type that is gzipped when small) that does not repeat.
        var generator = SplitMix(seed: 7)
        let size = 3 << 20 + 12345
        var content = [UInt8](repeating: 0, count: size)
        var word: UInt64 = 0
        for i in 0..<size {
            if i % 8 == 0 { word = generator.next() }
            content[i] = 0x61 + UInt8(truncatingIfNeeded: word >> (i % 8 * 8)) % 26
        }
        FileManager.default.createFile(atPath: folder + "/big.txt", contents: Data(content))
        XCTAssertGreaterThan(size, StaticFiles.wholeFileLimit)

        let server = try TestServer(["--public", folder, "--threads", "1"])
        let fd = try slowClient(port: server.port)
        defer { close(fd) }
        let request = "GET /big.txt HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
        _ = request.withCString { send(fd, $0, strlen($0), Int32(MSG_NOSIGNAL)) }

        var received: [UInt8] = []
        XCTAssertTrue(read(fd, into: &received, until: 4096))
        let separator: [UInt8] = Array("\r\n\r\n".utf8)
        guard let headEnd = (0...(received.count - 4)).first(where: { Array(received[$0..<$0 + 4]) == separator }) else {
            return XCTFail("no response head in \(String(decoding: received.prefix(200), as: UTF8.self))")
        }
        let head = String(decoding: received[..<headEnd], as: UTF8.self)
        XCTAssertTrue(head.hasPrefix("HTTP/1.1 200 OK\r\n"), head)
        XCTAssertTrue(head.contains("\r\nContent-Length: \(size)"), head)
        XCTAssertFalse(head.contains("Content-Encoding"), "a large file is not gzipped on the loop: \(head)")

        // With this client far behind, the one loop answers someone else.
        XCTAssertEqual(try HTTPClient.exchange(server.port, "GET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n").status, 200)

        let bodyStart = headEnd + 4
        XCTAssertTrue(read(fd, into: &received, until: bodyStart + size), "the whole file arrives")
        XCTAssertTrue(received[bodyStart..<bodyStart + size].elementsEqual(content), "byte for byte")

        // The request pipelined behind the file is answered after it.
        let rest = { String(decoding: received[(bodyStart + size)...], as: UTF8.self) }
        var buffer = [UInt8](repeating: 0, count: 4096)
        let deadline = Date().addingTimeInterval(5)
        while !rest().hasSuffix("ok\n") && Date() < deadline {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { break }
            received += buffer[0..<n]
        }
        XCTAssertTrue(rest().hasPrefix("HTTP/1.1 200 OK\r\n"), rest())
        XCTAssertTrue(rest().hasSuffix("\r\n\r\nok\n"), rest())

        // HEAD: the length, no body.
        let reply = try HTTPClient.exchange(server.port, "HEAD /big.txt HTTP/1.1\r\nConnection: close\r\n\r\n")
        XCTAssertEqual(reply.status, 200)
        XCTAssertEqual(reply.headers["content-length"], String(size))
    }
}

/// A small deterministic generator, so the file's bytes are the same every run.
private struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
