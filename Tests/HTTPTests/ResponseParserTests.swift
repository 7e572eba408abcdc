import XCTest

@testable import HTTP

final class ResponseParserTests: XCTestCase {
    /// Everything the parser produced for one way of feeding a response stream.
    struct Transcript: Equatable {
        var heads: [ResponseHead] = []
        var bodies: [[UInt8]] = []
        var ends = 0
        var failure: HTTPError?
    }

    /// Feeds `pieces`, then reports the end of the connection when `closes`.
    private func run(_ pieces: [[UInt8]], method: String = "GET", closes: Bool = true, maxBodyBytes: UInt64 = .max, maxHeaderBytes: Int = 16 * 1024) -> Transcript {
        var parser = ResponseParser(method: method, maxHeaderBytes: maxHeaderBytes, maxBodyBytes: maxBodyBytes)
        var buffer: [UInt8] = []
        var out = Transcript()
        var current: [UInt8]? = nil
        func handle(_ output: ResponseParser.Output, _ body: [UInt8]) -> Bool {
            switch output {
            case .head(let head):
                XCTAssertNil(current, "a head inside a response")
                out.heads.append(head)
                current = []
            case .body: current = (current ?? []) + body
            case .end:
                out.ends += 1
                out.bodies.append(current ?? [])
                current = nil
            case .failure(let error):
                out.failure = error
                return false
            }
            return true
        }
        for piece in pieces {
            buffer += piece
            var idle = 0
            while true {
                let (consumed, output) = buffer.withUnsafeBytes { parser.parse($0) }
                var body: [UInt8] = []
                if case .body(let range) = output { body = Array(buffer[range]) }
                buffer.removeFirst(consumed)
                idle = consumed == 0 ? idle + 1 : 0
                if idle > 3 { XCTFail("no progress"); return out }
                guard let output else {
                    if consumed == 0 { break } else { continue }
                }
                if !handle(output, body) { return out }
            }
        }
        if closes, let last = parser.finish() { _ = handle(last, []) }
        return out
    }

    /// Runs `input` whole, split at every offset, and byte by byte; all must agree.
    @discardableResult
    private func parseEverySplit(_ input: String, method: String = "GET", closes: Bool = true, maxBodyBytes: UInt64 = .max, maxHeaderBytes: Int = 16 * 1024, file: StaticString = #filePath, line: UInt = #line) -> Transcript {
        let bytes = Array(input.utf8)
        let whole = run([bytes], method: method, closes: closes, maxBodyBytes: maxBodyBytes, maxHeaderBytes: maxHeaderBytes)
        for split in 0...bytes.count {
            let result = run([Array(bytes[..<split]), Array(bytes[split...])], method: method, closes: closes, maxBodyBytes: maxBodyBytes, maxHeaderBytes: maxHeaderBytes)
            XCTAssertEqual(result, whole, "split at \(split)", file: file, line: line)
        }
        let trickled = run(bytes.map { [$0] }, method: method, closes: closes, maxBodyBytes: maxBodyBytes, maxHeaderBytes: maxHeaderBytes)
        XCTAssertEqual(trickled, whole, "byte by byte", file: file, line: line)
        return whole
    }

    private func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }

    func testContentLengthBodyAndKeepAliveAtEverySplit() {
        let t = parseEverySplit("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello\r\nHTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n")
        XCTAssertNil(t.failure)
        XCTAssertEqual(t.heads.map(\.status), [200, 404])
        XCTAssertEqual(t.heads.map(\.reason), ["OK", "Not Found"])
        XCTAssertEqual(t.heads[0].framing, .length(5))
        XCTAssertEqual(t.heads[0].header("CONTENT-TYPE"), "text/plain")
        XCTAssertEqual(t.heads[0].mediaType, "text/plain")
        XCTAssertTrue(t.heads[0].keepAlive)
        XCTAssertEqual(t.bodies.map(text), ["hello", ""])
        XCTAssertEqual(t.ends, 2)
    }

    func testChunkedBodyWithExtensionsAndTrailersAtEverySplit() {
        let t = parseEverySplit(
            "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream; charset=utf-8\r\nTransfer-Encoding: chunked\r\n\r\n"
                + "7;name=value\r\ndata: a\r\n2\r\n\n\n\r\nA \r\n0123456789\r\n0\r\nX-Trailer: 1\r\n\r\n"
                + "HTTP/1.1 200 OK\r\nTransfer-Encoding: Chunked\r\n\r\n1\r\nz\r\n0\r\n\r\n")
        XCTAssertNil(t.failure)
        XCTAssertEqual(t.heads.map(\.framing), [.chunked, .chunked])
        XCTAssertEqual(t.heads[0].mediaType, "text/event-stream")
        XCTAssertEqual(t.bodies.map(text), ["data: a\n\n0123456789", "z"])
        XCTAssertEqual(t.ends, 2)
    }

    func testBodyUntilCloseEndsOnlyAtFinish() {
        let input = "HTTP/1.0 200 OK\r\nContent-Type: text/event-stream\r\n\r\ndata: 1\n\ndata: 2\n\n"
        let t = parseEverySplit(input)
        XCTAssertNil(t.failure)
        XCTAssertEqual(t.heads.first?.framing, .untilClose)
        XCTAssertEqual(t.heads.first?.minorVersion, 0)
        XCTAssertFalse(t.heads[0].keepAlive)
        XCTAssertEqual(t.bodies.map(text), ["data: 1\n\ndata: 2\n\n"])
        let open = parseEverySplit(input, closes: false)
        XCTAssertEqual(open.ends, 0)
        XCTAssertEqual(open.heads.count, 1)
    }

    func testInterimResponsesAreSkipped() {
        let t = parseEverySplit("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 102 Processing\r\nX: y\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok")
        XCTAssertNil(t.failure)
        XCTAssertEqual(t.heads.map(\.status), [201])
        XCTAssertEqual(t.bodies.map(text), ["ok"])
    }

    func testNoBodyForHeadRequests204And304() {
        let head = parseEverySplit("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n", method: "HEAD")
        XCTAssertNil(head.failure, "the second response follows the first at once")
        XCTAssertEqual(head.heads.map(\.framing), [.none, .none])
        let t = parseEverySplit("HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\nHTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx")
        XCTAssertNil(t.failure)
        XCTAssertEqual(t.heads.map(\.status), [204, 304, 200])
        XCTAssertEqual(t.bodies.map(text), ["", "", "x"])
    }

    func testLeniencies() {
        // Bare LFs, no reason phrase, blank lines between responses, HTTP/1.2 as 1.1.
        let t = parseEverySplit("HTTP/1.1 200\nContent-Length: 1\n\nx\r\n\r\nHTTP/1.2 503 \r\nRetry-After: 1\r\nContent-Length: 0\r\n\r\n")
        XCTAssertNil(t.failure)
        XCTAssertEqual(t.heads.map(\.status), [200, 503])
        XCTAssertEqual(t.heads.map(\.reason), ["", ""])
        XCTAssertEqual(t.heads[1].minorVersion, 1)
        XCTAssertEqual(t.heads[1].header("retry-after"), "1")
    }

    func testMalformedResponsesFail() {
        for input in [
            "HTTP/2 200 OK\r\n\r\n", "HTTP/1.1 20 OK\r\n\r\n", "HTTP/1.1 2000 OK\r\n\r\n", "HTTP/1.1 099 x\r\n\r\n",
            "ICY 200 OK\r\n\r\n", "HTTP/1.1 200 OK\r\nno colon\r\n\r\n", "HTTP/1.1 200 OK\r\n: v\r\n\r\n",
            "HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\n", "HTTP/1.1 200 OK\r\nContent-Length: 1, 2\r\n\r\n",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nz\r\n", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nxy",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1000000000000000\r\n",
        ] {
            let t = parseEverySplit(input)
            XCTAssertEqual(t.failure?.status, 502, input)
        }
    }

    func testTruncatedResponsesFailAtFinish() {
        for input in ["HTTP/1.1 200 OK\r\nContent-Le", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nabc",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nabcde\r\n"]
        {
            let t = parseEverySplit(input)
            XCTAssertEqual(t.failure?.message.hasPrefix("connection closed"), true, input)
        }
        XCTAssertEqual(parseEverySplit(""), Transcript(), "a close between responses is no error")
    }

    func testHeaderSectionLimit() {
        let filler = String(repeating: "a", count: 100)
        let t = parseEverySplit("HTTP/1.1 200 OK\r\nX: \(filler)\r\n\r\n", maxHeaderBytes: 64)
        XCTAssertEqual(t.failure?.message, "response header section is over 64 bytes")
        XCTAssertNil(parseEverySplit("HTTP/1.1 200 OK\r\nX: \(filler)\r\nContent-Length: 0\r\n\r\n", maxHeaderBytes: 1024).failure)
    }

    func testBodyLimitDeliversUpToItThenFails() {
        for input in ["HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123456789", "HTTP/1.1 200 OK\r\n\r\n0123456789",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\n012\r\n7\r\n3456789\r\n0\r\n\r\n"]
        {
            let t = parseEverySplit(input, maxBodyBytes: 4)
            XCTAssertEqual(t.failure?.message, "response body is over 4 bytes", input)
            XCTAssertEqual(t.ends, 0)
            let exact = parseEverySplit(input, maxBodyBytes: 10)
            XCTAssertNil(exact.failure, input)
            XCTAssertEqual(exact.bodies.map(text), ["0123456789"])
        }
    }

    func testKeepAliveFollowsVersionConnectionAndFraming() {
        XCTAssertTrue(ResponseHead(status: 200, minorVersion: 1, framing: .length(0)).keepAlive)
        XCTAssertFalse(ResponseHead(status: 200, minorVersion: 1, headers: [("Connection", "Close")], framing: .chunked).keepAlive)
        XCTAssertFalse(ResponseHead(status: 200, minorVersion: 0, framing: .length(0)).keepAlive)
        XCTAssertTrue(ResponseHead(status: 200, minorVersion: 0, headers: [("connection", "keep-alive")], framing: .none).keepAlive)
        XCTAssertFalse(ResponseHead(status: 200, minorVersion: 1, framing: .untilClose).keepAlive)
    }
}
