import HTTP
import XCTest

@testable import OutboundHTTP

/// `ResponseReader` fed whole, split at every offset and byte by byte.
final class ResponseReaderTests: XCTestCase {
    /// What a reader produced for one way of feeding the input.
    struct Transcript: Equatable {
        var statuses: [Int] = []
        var body: [UInt8] = []
        var outcome: ResponseReader.Outcome = .needMore
    }

    static func read(_ pieces: [ArraySlice<UInt8>], method: String = "GET", maxBody: UInt64 = .max, close: Bool = false) -> Transcript {
        var reader = ResponseReader(method: method, maxHeaderBytes: 1024, maxBodyBytes: maxBody)
        var out = Transcript()
        for piece in pieces {
            out.outcome = piece.withUnsafeBytes { bytes in
                reader.feed(bytes) { item in
                    switch item {
                    case .head(let head): out.statuses.append(head.status)
                    case .body(let bytes): out.body += bytes
                    }
                    return true
                }
            }
            if out.outcome != .needMore { return out }
        }
        if close { out.outcome = reader.finish() }
        return out
    }

    func check(_ text: String, method: String = "GET", maxBody: UInt64 = .max, close: Bool = false, expect: Transcript,
               file: StaticString = #filePath, line: UInt = #line) {
        let bytes = Array(text.utf8)[...]
        XCTAssertEqual(Self.read([bytes], method: method, maxBody: maxBody, close: close), expect, "whole", file: file, line: line)
        for split in 0...bytes.count {
            let halves = Self.read([bytes[..<split], bytes[split...]], method: method, maxBody: maxBody, close: close)
            XCTAssertEqual(halves, expect, "split at \(split)", file: file, line: line)
        }
        let trickled = Self.read(bytes.indices.map { bytes[$0...$0] }, method: method, maxBody: maxBody, close: close)
        XCTAssertEqual(trickled, expect, "byte by byte", file: file, line: line)
    }

    func testContentLength() {
        check("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
              expect: Transcript(statuses: [200], body: Array("hello".utf8), outcome: .end(trailingBytes: false)))
    }

    func testChunkedWithExtensionsAndTrailers() {
        check("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n2\r\nde\r\n0\r\nT: 1\r\n\r\n",
              expect: Transcript(statuses: [200], body: Array("abcde".utf8), outcome: .end(trailingBytes: false)))
    }

    func testInterimAnswerThenNoContent() {
        check("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n",
              expect: Transcript(statuses: [204], body: [], outcome: .end(trailingBytes: false)))
    }

    func testHeadRequestHasNoBody() {
        check("HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n", method: "HEAD",
              expect: Transcript(statuses: [200], body: [], outcome: .end(trailingBytes: false)))
    }

    func testUntilClose() {
        check("HTTP/1.0 200 OK\r\n\r\nall of it", close: true,
              expect: Transcript(statuses: [200], body: Array("all of it".utf8), outcome: .end(trailingBytes: false)))
    }

    func testBytesAfterTheResponseAreReported() {
        let text = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\n"
        let bytes = Array(text.utf8)[...]
        XCTAssertEqual(Self.read([bytes]).outcome, .end(trailingBytes: true))
        // Fed byte by byte, the end comes before the extra bytes arrive.
        XCTAssertEqual(Self.read(bytes.indices.map { bytes[$0...$0] }).outcome, .end(trailingBytes: false))
    }

    func testFailures() {
        let garbage = Self.read([Array("SSH-2.0-OpenSSH\r\n\r\n".utf8)[...]])
        XCTAssertEqual(garbage.outcome, .failure(HTTPError(502, "malformed status line")))
        check("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123456789", maxBody: 4,
              expect: Transcript(statuses: [200], body: Array("0123".utf8), outcome: .failure(HTTPError(502, "response body is over 4 bytes"))))
        check("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n01234", close: true,
              expect: Transcript(statuses: [200], body: Array("01234".utf8),
                                 outcome: .failure(HTTPError(502, "connection closed before the response body ended"))))
        XCTAssertEqual(Self.read([], close: true).outcome, .nothing)
    }

    func testStoppingEndsReading() {
        var reader = ResponseReader(method: "GET", maxHeaderBytes: 1024, maxBodyBytes: .max)
        let bytes = Array("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello".utf8)
        var seen = 0
        let outcome = bytes.withUnsafeBytes { buffer in
            reader.feed(buffer) { _ in
                seen += 1
                return false
            }
        }
        XCTAssertEqual(outcome, .stopped)
        XCTAssertEqual(seen, 1, "nothing after the head")
    }
}
