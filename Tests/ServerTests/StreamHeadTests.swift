import XCTest

/// The head of an event stream and the framing of its own bytes, byte for byte,
/// for HTTP/1.1 (chunked), HTTP/1.0 (ended by the close) and gzip.
final class StreamHeadTests: XCTestCase {
    private func head(_ server: TestServer, _ request: String) throws -> (head: String, rest: RawClient) {
        let client = try RawClient(port: server.port)
        client.send(request)
        XCTAssertTrue(client.read(untilContains: "\r\n\r\n"))
        let text = client.text
        let end = text.range(of: "\r\n\r\n")!
        return (String(text[..<end.upperBound]), client)
    }

    func testStreamHeadsAreTheSameBytes() throws {
        let server = try TestServer(["--gzip", "--retry", "3000"])
        let common = "Content-Type: text/event-stream\r\nCache-Control: no-cache\r\nX-Accel-Buffering: no\r\n"

        let (chunked, client) = try head(server, "GET /events/a HTTP/1.1\r\nHost: x\r\n\r\n")
        XCTAssertEqual(chunked, "HTTP/1.1 200 OK\r\n" + common + "Transfer-Encoding: chunked\r\n\r\n")
        // The stream's own first bytes, the retry hint, framed as one chunk.
        XCTAssertTrue(client.read(untilContains: "\n\n\r\n"))
        let retry = "retry: 3000\n\n"
        XCTAssertTrue(client.text.hasSuffix("\r\n\r\n" + String(retry.utf8.count, radix: 16) + "\r\n" + retry + "\r\n"), client.text)

        let (plain, _) = try head(server, "GET /events/a HTTP/1.0\r\n\r\n")
        XCTAssertEqual(plain, "HTTP/1.0 200 OK\r\n" + common + "Connection: close\r\n\r\n")

        let (gzipped, _) = try head(server, "GET /events/a HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\n\r\n")
        XCTAssertEqual(
            gzipped, "HTTP/1.1 200 OK\r\n" + common + "Transfer-Encoding: chunked\r\nContent-Encoding: gzip\r\nVary: Accept-Encoding\r\n\r\n")
    }

    func testContinueIsTheSameBytes() throws {
        let server = try TestServer()
        let client = try RawClient(port: server.port)
        client.send("POST /events/a HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n")
        XCTAssertTrue(client.read(untilContains: "\r\n\r\n"))
        XCTAssertEqual(client.text, "HTTP/1.1 100 Continue\r\n\r\n")
    }
}
