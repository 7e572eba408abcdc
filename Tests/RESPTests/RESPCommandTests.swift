import XCTest

@testable import RESP

final class RESPCommandTests: XCTestCase {
    func testCommandsAreArraysOfBulkStrings() {
        let bytes = RESPCommand.encode(["SET", "key", [UInt8]([0, 13, 10]), 42, -7, UInt64(18_446_744_073_709_551_615), Substring("ab"), [UInt8]("xyz".utf8)[1...]])
        XCTAssertEqual(
            String(decoding: bytes, as: UTF8.self),
            "*8\r\n$3\r\nSET\r\n$3\r\nkey\r\n$3\r\n\u{0}\r\n\r\n$2\r\n42\r\n$2\r\n-7\r\n$20\r\n18446744073709551615\r\n$2\r\nab\r\n$2\r\nyz\r\n")
    }

    func testCommandsAppendToWhatIsBufferedAlready() {
        var buffer: [UInt8] = Array("x".utf8)
        RESPCommand.append(["PING"], to: &buffer)
        RESPCommand.append([String](), to: &buffer)
        XCTAssertEqual(String(decoding: buffer, as: UTF8.self), "x*1\r\n$4\r\nPING\r\n*0\r\n")
        var zero: [UInt8] = []
        0.appendBulk(to: &zero)
        XCTAssertEqual(String(decoding: zero, as: UTF8.self), "$1\r\n0\r\n")
    }

    func testACommandReadsBackAsTheArrayItIs() {
        let arguments: [String] = ["XADD", "sse:log", "*", "data", String(repeating: "é", count: 300)]
        var reader = RESPReader()
        reader.feed(RESPCommand.encode(arguments))
        XCTAssertEqual(reader.next(), .value(.array(arguments.map { .bulk($0) })))
    }

    func testValueAccessors() {
        XCTAssertEqual(RESPValue.bulk("12").integer, 12)
        XCTAssertEqual(RESPValue.simpleString("OK").string, "OK")
        XCTAssertEqual(RESPValue.bulk("é").bytes, [0xC3, 0xA9])
        XCTAssertNil(RESPValue.error("x").string)
        XCTAssertTrue(RESPValue.array(nil).isNil)
        XCTAssertEqual(RESPValue.array([.integer(1)]).array, [.integer(1)])
        XCTAssertEqual(String(decoding: RESPValue.integer(-3).encoded, as: UTF8.self), ":-3\r\n")
    }
}
