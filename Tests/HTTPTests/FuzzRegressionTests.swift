import XCTest

@testable import HTTP

/// Inputs the fuzzers (Tests/Fuzz/run.sh) found, kept so they stay fixed.
final class FuzzRegressionTests: XCTestCase {
    private func heads(_ text: [UInt8]) -> (heads: [RequestHead], failure: HTTPError?) {
        var parser = RequestParser()
        var buffer = text
        var heads: [RequestHead] = []
        while true {
            let (consumed, output) = buffer.withUnsafeBytes { parser.parse($0) }
            buffer.removeFirst(consumed)
            switch output {
            case .head(let head): heads.append(head)
            case .failure(let error): return (heads, error)
            case .body, .end: continue
            case nil: if consumed == 0 { return (heads, nil) }
            }
        }
    }

    /// FuzzHTTP: `HTTP/1.5` came out as minorVersion 5, which RequestHead says is 0 or 1.
    func testAHigherHTTP1MinorVersionIsReadAsHTTP11() {
        let result = heads(Array("POST /events/a HTTP/1.5\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nhi".utf8))
        XCTAssertNil(result.failure)
        XCTAssertEqual(result.heads.map(\.minorVersion), [1])
        XCTAssertEqual(heads(Array("GET / HTTP/1.9\r\n\r\n".utf8)).heads.map(\.minorVersion), [1])
        XCTAssertEqual(heads(Array("GET / HTTP/2.0\r\n\r\n".utf8)).failure?.status, 505)
    }
}
