import XCTest

@testable import EventStream
import Reactor

/// The one JSON string escaper, as hand-built JSON answers and log lines use it.
final class JSONQuotingTests: XCTestCase {
    func testQuotedEscapesWhatJSONRequires() {
        XCTAssertEqual(JSONText.quoted("plain"), "\"plain\"")
        XCTAssertEqual(JSONText.quoted("a\"b\\c"), "\"a\\\"b\\\\c\"")
        XCTAssertEqual(JSONText.quoted("l1\nl2\r\t\u{01}"), "\"l1\\nl2\\r\\t\\u0001\"")
        XCTAssertEqual(JSONText.quoted("é😀\u{7F}"), "\"é😀\u{7F}\"", "non-ASCII and DEL as they are")
    }

    func testLogLinesAlsoEscapeDelete() {
        XCTAssertEqual(LogText.jsonString("a\u{7F}\n"), "\"a\\u007f\\n\"")
        XCTAssertEqual(LogText.jsonString("a\u{7F}", escapingDelete: false), JSONText.quoted("a\u{7F}"))
    }
}
