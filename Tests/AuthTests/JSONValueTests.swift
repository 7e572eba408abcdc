import XCTest

@testable import Auth

final class JSONValueTests: XCTestCase {
    private func parse(_ text: String, maxDepth: Int = 32) -> JSONValue? {
        try? JSONValue.parse(text, maxDepth: maxDepth).get()
    }

    func testReadsEveryKindOfValue() {
        let value = parse(#" {"a": [1, -2.5e3, 0, true, false, null], "b": {"c": "d"}, "e": ""} "#)
        XCTAssertEqual(
            value,
            .object([
                .init("a", .array([.number("1"), .number("-2.5e3"), .number("0"), .bool(true), .bool(false), .null])),
                .init("b", .object([.init("c", .string("d"))])),
                .init("e", .string("")),
            ]))
        XCTAssertEqual(value?["b"]?["c"]?.stringValue, "d")
        XCTAssertEqual(value?["a"]?.arrayValue?[1].doubleValue, -2500)
        XCTAssertNil(value?["missing"])
        XCTAssertEqual(parse("7"), .number("7"))
        XCTAssertEqual(parse("\"x\""), .string("x"))
    }

    func testDecodesEscapesAndSurrogatePairs() {
        XCTAssertEqual(parse(#""\"\\\/\b\f\n\r\t""#), .string("\"\\/\u{8}\u{c}\n\r\t"))
        XCTAssertEqual(parse(#""\u00e9\u20AC""#), .string("é€"))
        XCTAssertEqual(parse(#""\ud83d\ude00 ok""#), .string("😀 ok"))
        XCTAssertEqual(parse("\"é😀\""), .string("é😀"))
        XCTAssertEqual(parse(#""a\u0000b""#), .string("a\u{0}b"))
    }

    func testCompactTextDropsSpaceAndKeepsOrderAndNumbers() {
        let value = parse(#"{ "z" : 1E+2 , "a" : [ "x y", {"q":"\u00e9\n\"", "r": 12345678901234567890} ] }"#)
        XCTAssertEqual(value?.compactText, #"{"z":1E+2,"a":["x y",{"q":"é\n\"","r":12345678901234567890}]}"#)
        XCTAssertEqual(parse(#""\u0001""#)?.compactText, #""\u0001""#)
        // The compact text reads back as the same value.
        if let value { XCTAssertEqual(parse(value.compactText), value) }
    }

    func testRefusesWhatStrictJSONRefuses() {
        let bad = [
            "", " ", "{", "}", "[1,]", "[,1]", "{\"a\":1,}", "{\"a\" 1}", "{a:1}", "{'a':1}", "01", "1.", ".5", "-", "1e",
            "+1", "0x10", "NaN", "Infinity", "tru", "nul", "truex", "1 2", "{} {}", "\"abc", "\"a\nb\"", "\"\\x\"",
            "\"\\u12\"", "\"\\u12G4\"", "\"\\ud800\"", "\"\\ud800\\u0041\"", "\"\\udc00\"", "[1 2]", "{\"a\":1 \"b\":2}",
            "{\"a\":1,\"a\":2}", "\u{FEFF}{}", "// x\n1", "[1]]",
        ]
        for text in bad {
            XCTAssertNil(parse(text), "accepted \(text.debugDescription)")
        }
        XCTAssertNil(try? JSONValue.parse([0x22, 0xFF, 0x22]).get(), "not UTF-8")
        XCTAssertNil(try? JSONValue.parse([0x22, 0xC3, 0x22]).get(), "cut UTF-8")
    }

    func testDuplicateNamesAreFoundInLargeObjectsToo() {
        let members = (0..<40).map { "\"k\($0)\":\($0)" }
        XCTAssertNotNil(parse("{" + members.joined(separator: ",") + "}"))
        XCTAssertNil(parse("{" + (members + ["\"k3\":0"]).joined(separator: ",") + "}"))
        XCTAssertNil(parse("{" + (members + ["\"k39\":0"]).joined(separator: ",") + "}"))
        XCTAssertNil(parse(#"{"a":1,"b":2,"a":3}"#))
        XCTAssertNotNil(parse(#"{"a":{"a":1},"b":[{"a":2}]}"#), "the same name in different objects")
    }

    func testNestingIsLimited() {
        XCTAssertNotNil(parse(String(repeating: "[", count: 32) + String(repeating: "]", count: 32)))
        XCTAssertNil(parse(String(repeating: "[", count: 33) + String(repeating: "]", count: 33)))
        XCTAssertNil(parse(String(repeating: "{\"a\":", count: 4) + "1" + String(repeating: "}", count: 4), maxDepth: 3))
        // Deep enough to overflow a stack without the limit.
        XCTAssertNil(parse(String(repeating: "[", count: 100_000)))
    }

    func testErrorsSayWhatAndWhere() {
        guard case .failure(let error) = JSONValue.parse("{\"a\":1,\"a\":2}") else { return XCTFail() }
        XCTAssertEqual(error.message, "duplicate member \"a\"")
        XCTAssertEqual(error.offset, 7)
    }
}
