import XCTest

@testable import HTTP

/// The bytes of the heads the server writes, pinned: every head is built by
/// `Response`, and folding the hand-built ones into it changed none of them.
final class ResponseBytesTests: XCTestCase {
    func testTheRefusalForLackOfDescriptorsIsTheSameBytes() {
        let bytes = Response(status: 503, headers: [("Retry-After", "5")]).serialized(keepAlive: false)
        XCTAssertEqual(
            String(decoding: bytes, as: UTF8.self),
            "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 5\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
    }

    func testAHeadIsWrittenExactlyAsGiven() {
        XCTAssertEqual(String(decoding: Response.head(status: 100), as: UTF8.self), "HTTP/1.1 100 Continue\r\n\r\n")
        XCTAssertEqual(
            String(decoding: Response.head(status: 200, minorVersion: 0, headers: [("Content-Type", "text/event-stream"), ("Connection", "close")]), as: UTF8.self),
            "HTTP/1.0 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n")
    }

    func testSerialisedIsTheHeadThenFramingThenBody() {
        let response = Response(status: 200, headers: [("A", "1"), ("B", "2")], body: Array("hi".utf8))
        XCTAssertEqual(
            String(decoding: response.serialized(minorVersion: 0, keepAlive: true), as: UTF8.self),
            "HTTP/1.0 200 OK\r\nA: 1\r\nB: 2\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\nhi")
        let chunked = Response(status: 200, headers: [("transfer-encoding", "chunked")])
        XCTAssertEqual(
            String(decoding: chunked.serialized(keepAlive: true), as: UTF8.self),
            "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n", "a framing header set by hand: no Content-Length")
        XCTAssertEqual(
            String(decoding: Response(status: 304, headers: [("ETag", "\"x\"")]).serialized(keepAlive: true), as: UTF8.self),
            "HTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\n\r\n")
    }

    func testContentLengthIsReadOneWayForRequestsAndResponses() {
        XCTAssertEqual(ContentLength.parse(["5"]), 5)
        XCTAssertEqual(ContentLength.parse(["5, 5", " 5 "]), 5)
        XCTAssertEqual(ContentLength.parse(["0"]), 0)
        for bad in [[""], ["5, 6"], ["5", "6"], ["-1"], ["+5"], ["0x5"], ["1234567890123456789"], ["5,"]] {
            XCTAssertNil(ContentLength.parse(bad), "\(bad)")
        }
        XCTAssertEqual(RequestHead(method: "POST", target: "/", headers: [("content-length", "12")]).contentLength, 12)
        XCTAssertNil(RequestHead(method: "GET", target: "/").contentLength)
    }
}
