import Foundation
import XCTest

@testable import EventStream

/// The JSON lines a client prints are what `--format json` reads back.
final class ClientEventJSONTests: XCTestCase {
    func testLineShapeAndEscapes() {
        XCTAssertEqual(ClientEventJSON.line(ParsedEvent(id: "7-0", lastEventID: "7-0", type: "tick", data: "a")), #"{"id":"7-0","event":"tick","data":"a"}"#)
        XCTAssertEqual(ClientEventJSON.line(ParsedEvent(data: "q\"b\\s/\n\t\r\u{1}\u{7F}é\u{2028}\u{2029}😀")),
            #"{"event":"message","data":"q\"b\\s/\n\t\r\u0001"# + "\u{7F}é" + #"\u2028\u2029"# + "😀\"}")
    }

    func testEveryLineIsValidJSONWithTheSameValues() throws {
        let events = [
            ParsedEvent(id: "", type: "message", data: ""), ParsedEvent(id: "1", type: "a b", data: "x\ny\n"),
            ParsedEvent(type: "t", data: String((0..<0x80).map { Character(Unicode.Scalar(UInt8($0))) }) + "\u{FFFD}\u{2028}x"),
        ]
        for event in events {
            let line = ClientEventJSON.line(event)
            let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: String])
            XCTAssertEqual(object["data"], event.data)
            XCTAssertEqual(object["event"], event.type)
            XCTAssertEqual(object["id"], event.id)
        }
    }

    func testSSEServeJSONFormatReadsTheLinesBackIgnoringId() {
        var out: [UInt8] = []
        ClientEventJSON.append(ParsedEvent(id: "5", lastEventID: "5", type: "price", data: "{\"p\":1}\nsecond"), to: &out)
        ClientEventJSON.append(ParsedEvent(data: "plain"), to: &out)
        var parser = RecordParser(format: .json)
        var records: [Record] = []
        out.withUnsafeBytes { parser.feed($0) { if case .success(let r) = $0 { records.append(r) } else { XCTFail("\($0)") } } }
        parser.finish { _ in XCTFail("nothing left") }
        XCTAssertEqual(records.map(\.event), [Event(type: "price", data: "{\"p\":1}\nsecond"), Event(data: "plain")])
    }
}
