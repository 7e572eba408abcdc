import Glibc
import XCTest

/// A body refused part-way, with more bytes already in the same read: the answer
/// ends the connection while the request parser is still handing out body bytes,
/// which once drove the input buffer's count below zero.
final class RefusedBodyTests: XCTestCase {
    /// What came back, and whether the server ended with a clean FIN (not a reset).
    private func exchange(_ port: Int, _ request: [UInt8]) throws -> (text: String, cleanClose: Bool) {
        let client = try RawClient(port: port)
        client.send(request)
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        let deadline = Date().addingTimeInterval(5)
        while Date() < deadline {
            let n = buffer.withUnsafeMutableBytes { recv(client.fd, $0.baseAddress, $0.count, 0) }
            if n > 0 {
                received += buffer[0..<n]
            } else if n == 0 {
                return (String(decoding: received, as: UTF8.self), true)
            } else if errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR {
                return (String(decoding: received, as: UTF8.self), false)
            }
        }
        XCTFail("the server did not close within 5 s")
        return (String(decoding: received, as: UTF8.self), false)
    }

    private func statusLines(_ text: String) -> [String] {
        text.components(separatedBy: "\r\n").filter { $0.hasPrefix("HTTP/1.") }
    }

    func testABodyOverMaxBodyWithPipelinedBytesIsAnsweredOnceAndClosedCleanly() throws {
        let server = try TestServer(["--max-body", "1024"])
        let pipelined = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
        let requests: [(String, String)] = [
            ("a discarded body", "GET /healthz HTTP/1.1\r\nContent-Length: 5000\r\n\r\n" + String(repeating: "v", count: 5000)),
            (
                "a chunked publish",
                "POST /events/c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n800\r\n" + String(repeating: "y", count: 2048)
                    + "\r\n0\r\n\r\n"
            ),
        ]
        for (what, request) in requests {
            let (text, cleanClose) = try exchange(server.port, Array((request + pipelined).utf8))
            XCTAssertEqual(statusLines(text).count, 1, "\(what): one answer, the pipelined request is not read: \(text)")
            XCTAssertTrue(text.hasPrefix("HTTP/1.1 413") || text.hasPrefix("HTTP/1.1 400"), "\(what): \(text.prefix(100))")
            XCTAssertTrue(text.contains("Connection: close\r\n"), what)
            XCTAssertTrue(cleanClose, "\(what): closed with a FIN, not a reset")
        }
        // The loop that refused them still serves.
        XCTAssertEqual(try HTTPClient.exchange(server.port, "GET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n").status, 200)
    }
}
