import XCTest

@testable import EventStream

/// The WHATWG event stream interpretation, every input split at every offset.
final class EventStreamParserTests: XCTestCase {
    typealias Output = EventStreamParser.Output

    private func run(_ pieces: [[UInt8]], comments: Bool, maxLine: Int, maxData: Int, lastEventID: String) -> ([Output], String) {
        var parser = EventStreamParser(lastEventID: lastEventID, maxLineBytes: maxLine, maxDataBytes: maxData, reportsComments: comments)
        var out: [Output] = []
        for piece in pieces { piece.withUnsafeBytes { parser.feed($0) { out.append($0) } } }
        parser.finish()
        return (out, parser.lastEventID)
    }

    /// Parses `input` whole, in two pieces split at every offset, and byte by byte; all must agree.
    @discardableResult
    private func parse(
        _ input: [UInt8], comments: Bool = false, maxLine: Int = 1 << 20, maxData: Int = 16 << 20, lastEventID: String = "",
        file: StaticString = #filePath, line: UInt = #line
    ) -> [Output] {
        let whole = run([input], comments: comments, maxLine: maxLine, maxData: maxData, lastEventID: lastEventID)
        for split in 0...input.count {
            let halves = run([Array(input[..<split]), Array(input[split...])], comments: comments, maxLine: maxLine, maxData: maxData, lastEventID: lastEventID)
            XCTAssertEqual(halves.0, whole.0, "split at \(split)", file: file, line: line)
            XCTAssertEqual(halves.1, whole.1, "split at \(split)", file: file, line: line)
        }
        let trickled = run(input.map { [$0] }, comments: comments, maxLine: maxLine, maxData: maxData, lastEventID: lastEventID)
        XCTAssertEqual(trickled.0, whole.0, "byte by byte", file: file, line: line)
        return whole.0
    }

    @discardableResult
    private func parse(_ input: String, comments: Bool = false, maxLine: Int = 1 << 20, maxData: Int = 16 << 20, lastEventID: String = "", file: StaticString = #filePath, line: UInt = #line) -> [Output] {
        parse(Array(input.utf8), comments: comments, maxLine: maxLine, maxData: maxData, lastEventID: lastEventID, file: file, line: line)
    }

    private func event(_ data: String, type: String = "message", id: String? = nil, last: String = "") -> Output {
        .event(ParsedEvent(id: id, lastEventID: last, type: type, data: data))
    }

    func testDataLinesAreJoinedWithLineFeeds() {
        // The spec's stock-ticker example.
        XCTAssertEqual(parse("data: YHOO\ndata: +2\ndata: 10\n\n"), [event("YHOO\n+2\n10")])
    }

    func testSpecExampleWithCommentsIdsAndAnUnfinishedLastEvent() {
        let input = ": test stream\n\ndata: first event\nid: 1\n\ndata:second event\nid\n\ndata:  third event\n"
        XCTAssertEqual(parse(input), [event("first event", id: "1", last: "1"), event("second event", id: "", last: "")])
        XCTAssertEqual(parse(input, comments: true).first, .comment("test stream"))
    }

    func testEmptyDataLinesAndAFieldWithoutColon() {
        // "data" alone is the field data with an empty value: one event "", one "\n"; the last is never finished.
        XCTAssertEqual(parse("data\n\ndata\ndata\n\ndata:"), [event(""), event("\n")])
    }

    func testOneLeadingSpaceIsDroppedAndNoMore() {
        XCTAssertEqual(parse("data:test\n\ndata: test\n\ndata:  two\n\ndata:\ttab\n\n"), [event("test"), event("test"), event(" two"), event("\ttab")])
    }

    func testEveryLineEndingAndMixtures() {
        let expected = [event("a\nb", type: "x"), event("c")]
        XCTAssertEqual(parse("event: x\ndata: a\ndata: b\n\ndata: c\n\n"), expected)
        XCTAssertEqual(parse("event: x\r\ndata: a\r\ndata: b\r\n\r\ndata: c\r\n\r\n"), expected)
        XCTAssertEqual(parse("event: x\rdata: a\rdata: b\r\rdata: c\r\r"), expected)
        XCTAssertEqual(parse("event: x\r\ndata: a\rdata: b\n\r\ndata: c\r\r\n"), expected)
        // CR then LF is one line end, LF then CR two.
        XCTAssertEqual(parse("data: a\n\rdata: b\n\n"), [event("a"), event("b")])
    }

    func testALoneCRDispatchesWithoutWaitingForTheNextByte() {
        var parser = EventStreamParser()
        var out: [Output] = []
        Array("data: a\r\r".utf8).withUnsafeBytes { parser.feed($0) { out.append($0) } }
        XCTAssertEqual(out, [event("a")])
        Array("\ndata: b\n\n".utf8).withUnsafeBytes { parser.feed($0) { out.append($0) } }
        XCTAssertEqual(out, [event("a"), event("b")], "the LF after the CR belongs to it, not a blank line")
    }

    func testAByteOrderMarkIsDroppedOnceAtTheStart() {
        let bom: [UInt8] = [0xEF, 0xBB, 0xBF]
        XCTAssertEqual(parse(bom + Array("data: a\n\n".utf8)), [event("a")])
        // A second one is part of the field name, so the line is an unknown field.
        XCTAssertEqual(parse(bom + bom + Array("data: a\n\ndata: b\n\n".utf8)), [event("b")])
        // A BOM anywhere else is text.
        XCTAssertEqual(parse(Array("data: ".utf8) + bom + Array("a\n\n".utf8)), [event("\u{FEFF}a")])
        // Half a BOM is not one.
        XCTAssertEqual(parse([0xEF, 0xBB] + Array("\ndata: a\n\n".utf8)), [event("a")])
    }

    func testEventTypeDefaultsToMessageAndResetsAfterEachEvent() {
        XCTAssertEqual(
            parse("event: add\ndata: 1\n\ndata: 2\n\nevent:\ndata: 3\n\nevent: x\n\ndata: 4\n\n"),
            [event("1", type: "add"), event("2"), event("3"), event("4")])
    }

    func testIdPersistsIgnoresNULAndUpdatesWithoutAnEvent() {
        let out = parse("id: 7\ndata: a\n\ndata: b\n\nid: 8\n\ndata: c\n\nid: 9\u{0}\ndata: d\n\nid\ndata: e\n\n")
        XCTAssertEqual(out, [
            event("a", id: "7", last: "7"), event("b", last: "7"), event("c", last: "8"), event("d", last: "8"), event("e", id: "", last: ""),
        ])
        // The last id string moves at the blank line, not at the id line: an unfinished block does not move it.
        var parser = EventStreamParser(lastEventID: "3")
        Array("id: 4\ndata: x\n".utf8).withUnsafeBytes { parser.feed($0) { _ in } }
        XCTAssertEqual(parser.lastEventID, "3")
        parser.finish()
        XCTAssertEqual(parser.lastEventID, "3")
        var events: [Output] = []
        Array("data: y\n\n".utf8).withUnsafeBytes { parser.feed($0) { events.append($0) } }
        XCTAssertEqual(events, [event("y", last: "3")], "a new stream starts from the last id string")
        XCTAssertEqual(parse("id: 5\n\n", lastEventID: "1"), [])
    }

    func testRetryOnlyWhenAllDigits() {
        XCTAssertEqual(
            parse("retry: 1000\nretry:250\nretry: 10a\nretry: -1\nretry:\nretry: 1.5\nretry:  5\nretry: 99999999999999999999999\n"),
            [.retry(1000), .retry(250), .retry(Int.max)])
    }

    func testUnknownFieldsAndCommentsAreIgnored() {
        XCTAssertEqual(parse(":hi\nfoo: bar\nData: x\ndata : y\nDATA\n: ping\n\n"), [])
        XCTAssertEqual(parse(":hi\n: ping\n:\n", comments: true), [.comment("hi"), .comment("ping"), .comment("")])
    }

    func testAnEventNotEndedByABlankLineIsDropped() {
        XCTAssertEqual(parse("data: a\n\ndata: b\n"), [event("a")])
        XCTAssertEqual(parse("data: a\n\ndata: b"), [event("a")])
    }

    func testInvalidUTF8BecomesReplacementCharacters() {
        XCTAssertEqual(parse([0x64, 0x61, 0x74, 0x61, 0x3A, 0xFF, 0x61, 0xE2, 0x82, 0x0A, 0x0A]), [event("\u{FFFD}a\u{FFFD}")])
        XCTAssertEqual(parse("data: é€😀\n\n"), [event("é€😀")])
    }

    func testALineOverTheLimitIsReportedAndSkippedToItsEnd() {
        let long = String(repeating: "x", count: 40)
        XCTAssertEqual(
            parse("data: a\ndata: \(long)\ndata: b\n\n", maxLine: 16),
            [.lineTooLong, event("a\nb")])
        XCTAssertEqual(parse("data: \(long)\r\rdata: b\n\n", maxLine: 16), [.lineTooLong, event("b")], "its CR ends it, the next CR is a blank line")
        // Exactly at the limit is fine.
        XCTAssertEqual(parse("data: 0123456789\n\n", maxLine: 16), [event("0123456789")])
        XCTAssertEqual(parse("data: 01234567890\n\n", maxLine: 16), [.lineTooLong])
    }

    func testAnEventOverTheDataLimitIsDropped() {
        XCTAssertEqual(parse("data: 0123\ndata: 4567\ndata: 89\n\ndata: ok\n\n", maxData: 10), [.eventTooLong, event("ok")])
        XCTAssertEqual(parse("data: 0123\ndata: 4\n\n", maxData: 10), [event("0123\n4")])
    }
}
