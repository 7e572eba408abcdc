import XCTest

@testable import HTTP

final class RequestParserTests: XCTestCase {
    /// Everything the parser produces for `input` fed in the given pieces.
    private func run(_ pieces: [[UInt8]], maxHeaderBytes: Int = 16 * 1024) -> (heads: [RequestHead], bodies: [[UInt8]], ends: Int, failure: HTTPError?) {
        var parser = RequestParser(maxHeaderBytes: maxHeaderBytes)
        var buffer: [UInt8] = []
        var heads: [RequestHead] = []
        var bodies: [[UInt8]] = []
        var current: [UInt8]? = nil
        var ends = 0
        for piece in pieces {
            buffer += piece
            while true {
                let (consumed, output) = buffer.withUnsafeBytes { parser.parse($0) }
                var body: [UInt8] = []
                if case .body(let range) = output { body = Array(buffer[range]) }
                buffer.removeFirst(consumed)
                guard let output else {
                    if consumed == 0 { break } else { continue }
                }
                switch output {
                case .head(let head):
                    heads.append(head)
                    current = []
                case .body: current = (current ?? []) + body
                case .end:
                    ends += 1
                    bodies.append(current ?? [])
                    current = nil
                case .failure(let error): return (heads, bodies, ends, error)
                }
            }
        }
        return (heads, bodies, ends, nil)
    }

    /// Runs `input` whole and split at every offset; all must agree.
    private func parseEverySplit(_ input: String, check: (_ heads: [RequestHead], _ bodies: [[UInt8]], _ ends: Int, _ failure: HTTPError?) -> Void) {
        let bytes = Array(input.utf8)
        let whole = run([bytes])
        check(whole.heads, whole.bodies, whole.ends, whole.failure)
        for split in 0...bytes.count {
            let result = run([Array(bytes[..<split]), Array(bytes[split...])])
            XCTAssertEqual(result.heads, whole.heads, "split at \(split)")
            XCTAssertEqual(result.bodies, whole.bodies, "split at \(split)")
            XCTAssertEqual(result.ends, whole.ends, "split at \(split)")
            XCTAssertEqual(result.failure, whole.failure, "split at \(split)")
        }
        // And byte by byte.
        let trickled = run(bytes.map { [$0] })
        XCTAssertEqual(trickled.heads, whole.heads)
        XCTAssertEqual(trickled.bodies, whole.bodies)
    }

    func testParsesASimpleGetAtEverySplit() {
        parseEverySplit("GET /events/news?lastEventId=5 HTTP/1.1\r\nHost: localhost\r\nLast-Event-ID:  7-1 \r\n\r\n") { heads, bodies, ends, failure in
            XCTAssertNil(failure)
            XCTAssertEqual(heads.count, 1)
            XCTAssertEqual(heads.first?.method, "GET")
            XCTAssertEqual(heads.first?.target, "/events/news?lastEventId=5")
            XCTAssertEqual(heads.first?.rawPath, "/events/news")
            XCTAssertEqual(heads.first?.rawQuery, "lastEventId=5")
            XCTAssertEqual(heads.first?.header("last-event-id"), "7-1")
            XCTAssertEqual(heads.first?.minorVersion, 1)
            XCTAssertEqual(bodies, [[]])
            XCTAssertEqual(ends, 1)
        }
    }

    func testContentLengthBodyAndPipelinedRequestsAtEverySplit() {
        parseEverySplit("POST /events/a HTTP/1.1\r\nContent-Length: 5\r\n\r\nhelloGET /healthz HTTP/1.0\r\n\r\n") { heads, bodies, ends, failure in
            XCTAssertNil(failure)
            XCTAssertEqual(heads.map(\.method), ["POST", "GET"])
            XCTAssertEqual(heads.last?.minorVersion, 0)
            XCTAssertEqual(bodies, [Array("hello".utf8), []])
            XCTAssertEqual(ends, 2)
        }
    }

    func testChunkedBodyWithExtensionsAndTrailersAtEverySplit() {
        let request = "PUT /events/up?format=line HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n4;ext=1\r\nab\nc\r\nA\r\n0123456789\r\n0\r\nX-Trailer: yes\r\n\r\nGET / HTTP/1.1\r\n\r\n"
        parseEverySplit(request) { heads, bodies, ends, failure in
            XCTAssertNil(failure)
            XCTAssertEqual(heads.count, 2)
            XCTAssertEqual(bodies.first, Array("ab\nc0123456789".utf8))
            XCTAssertEqual(ends, 2)
        }
    }

    func testBareLineFeedsAreAccepted() {
        parseEverySplit("GET / HTTP/1.1\nHost: x\n\n") { heads, _, ends, failure in
            XCTAssertNil(failure)
            XCTAssertEqual(heads.first?.header("Host"), "x")
            XCTAssertEqual(ends, 1)
        }
    }

    func testMalformedRequestLinesAreRejectedWith400() {
        for bad in ["GARBAGE\r\n\r\n", "GET /\r\n\r\n", "GET  / HTTP/1.1\r\n\r\n", "GET / HTTP/1.1 extra\r\n\r\n", "G(T / HTTP/1.1\r\n\r\n", "GET / FTP/1.1\r\n\r\n"] {
            XCTAssertEqual(run([Array(bad.utf8)]).failure?.status, 400, bad)
        }
        XCTAssertEqual(run([Array("GET / HTTP/2.0\r\n\r\n".utf8)]).failure?.status, 505)
    }

    func testMalformedHeadersAreRejectedWith400() {
        for bad in ["GET / HTTP/1.1\r\nNo colon\r\n\r\n", "GET / HTTP/1.1\r\n: empty\r\n\r\n", "GET / HTTP/1.1\r\nBad Name: x\r\n\r\n", "GET / HTTP/1.1\r\n folded\r\n\r\n"] {
            XCTAssertEqual(run([Array(bad.utf8)]).failure?.status, 400, bad.debugDescription)
        }
    }

    func testHeaderSectionOver16KiBIs431() {
        let big = "GET / HTTP/1.1\r\nX-Big: " + String(repeating: "a", count: 17 * 1024) + "\r\n\r\n"
        XCTAssertEqual(run([Array(big.utf8)]).failure?.status, 431)
        // Also when the end never comes.
        let endless = "GET / HTTP/1.1\r\nX-Big: " + String(repeating: "a", count: 17 * 1024)
        XCTAssertEqual(run([Array(endless.utf8)]).failure?.status, 431)
    }

    func testBadFramingIsRejected() {
        XCTAssertEqual(run([Array("POST / HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n".utf8)]).failure?.status, 400)
        XCTAssertEqual(run([Array("POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n".utf8)]).failure?.status, 400)
        XCTAssertEqual(run([Array("POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n".utf8)]).failure?.status, 400)
        XCTAssertEqual(run([Array("POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n".utf8)]).failure?.status, 501)
        XCTAssertEqual(run([Array("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nFFFFFFFFFFFFFFFFFF\r\n".utf8)]).failure?.status, 400)
        XCTAssertEqual(run([Array("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n".utf8)]).failure?.status, 400)
        XCTAssertEqual(run([Array("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabX\r\n".utf8)]).failure?.status, 400)
    }

    func testKeepAliveFollowsVersionAndConnectionHeader() {
        XCTAssertTrue(RequestHead(method: "GET", target: "/", minorVersion: 1).keepAlive)
        XCTAssertFalse(RequestHead(method: "GET", target: "/", minorVersion: 0).keepAlive)
        XCTAssertTrue(RequestHead(method: "GET", target: "/", minorVersion: 0, headers: [("Connection", "Keep-Alive")]).keepAlive)
        XCTAssertFalse(RequestHead(method: "GET", target: "/", minorVersion: 1, headers: [("Connection", "close")]).keepAlive)
    }

    func testAcceptEncodingHonoursQZero() {
        XCTAssertTrue(RequestHead(method: "GET", target: "/", headers: [("Accept-Encoding", "gzip, deflate, br")]).accepts(encoding: "gzip"))
        XCTAssertFalse(RequestHead(method: "GET", target: "/", headers: [("Accept-Encoding", "gzip;q=0")]).accepts(encoding: "gzip"))
        XCTAssertFalse(RequestHead(method: "GET", target: "/", headers: [("Accept-Encoding", "br")]).accepts(encoding: "gzip"))
    }

    func testQueryDecoding() {
        let pairs = Query.parse("channel=a&channel=b%2Fc&event=x+y&empty")
        XCTAssertEqual(pairs?.map(\.name), ["channel", "channel", "event", "empty"])
        XCTAssertEqual(pairs?.map(\.value), ["a", "b/c", "x y", ""])
        XCTAssertNil(Query.parse("a=%zz"))
        XCTAssertNil(Query.percentDecode("%"))
        XCTAssertEqual(Query.percentDecode("a%0Ab"), "a\nb")
    }

    func testResponseSerialisation() {
        let response = Response.text(404, "not found")
        let text = String(decoding: response.serialized(minorVersion: 1, keepAlive: false), as: UTF8.self)
        XCTAssertTrue(text.hasPrefix("HTTP/1.1 404 Not Found\r\n"))
        XCTAssertTrue(text.contains("Content-Length: 10\r\n"))
        XCTAssertTrue(text.contains("Connection: close\r\n"))
        XCTAssertTrue(text.hasSuffix("\r\n\r\nnot found\n"))
        let head = String(decoding: response.serialized(minorVersion: 1, keepAlive: true, headOnly: true), as: UTF8.self)
        XCTAssertTrue(head.hasSuffix("\r\n\r\n"))
        XCTAssertTrue(head.contains("Content-Length: 10"))
    }
}
