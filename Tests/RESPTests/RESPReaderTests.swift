import XCTest

@testable import RESP

final class RESPReaderTests: XCTestCase {
    /// Every reply the reader produces for `pieces`, and the failure that ended it, if any.
    private func read(_ pieces: [ArraySlice<UInt8>], limits: RESPReader.Limits = .init()) -> (values: [RESPValue], failure: RESPProtocolError?) {
        var reader = RESPReader(limits: limits)
        var values: [RESPValue] = []
        for piece in pieces {
            reader.feed(piece)
            reading: while true {
                switch reader.next() {
                case .value(let value): values.append(value)
                case .needMore: break reading
                case .failure(let error):
                    // A failed reader stays failed.
                    XCTAssertEqual(reader.next(), .failure(error))
                    return (values, error)
                }
            }
        }
        return (values, nil)
    }

    /// Reads `bytes` whole, split at every offset into two, and byte by byte; all must agree.
    private func readEverySplit(_ bytes: [UInt8], limits: RESPReader.Limits = .init(), file: StaticString = #filePath, line: UInt = #line)
        -> (values: [RESPValue], failure: RESPProtocolError?)
    {
        let whole = read([bytes[...]], limits: limits)
        for split in 0...bytes.count {
            let halves = read([bytes[..<split], bytes[split...]], limits: limits)
            XCTAssertEqual(halves.values, whole.values, "split at \(split)", file: file, line: line)
            XCTAssertEqual(halves.failure, whole.failure, "split at \(split)", file: file, line: line)
        }
        let trickled = read(bytes.indices.map { bytes[$0...$0] }, limits: limits)
        XCTAssertEqual(trickled.values, whole.values, "byte by byte", file: file, line: line)
        XCTAssertEqual(trickled.failure, whole.failure, "byte by byte", file: file, line: line)
        return whole
    }

    private func readEverySplit(_ text: String, file: StaticString = #filePath, line: UInt = #line) -> (values: [RESPValue], failure: RESPProtocolError?) {
        readEverySplit(Array(text.utf8), file: file, line: line)
    }

    func testReadsEveryKindOfReplyAtEverySplit() {
        let result = readEverySplit("+OK\r\n-WRONGPASS invalid username-password pair\r\n:0\r\n:-42\r\n:9223372036854775807\r\n$5\r\nhello\r\n$0\r\n\r\n$-1\r\n*-1\r\n*0\r\n")
        XCTAssertNil(result.failure)
        XCTAssertEqual(result.values, [
            .simpleString("OK"), .error("WRONGPASS invalid username-password pair"), .integer(0), .integer(-42),
            .integer(.max), .bulk("hello"), .bulkString([]), .bulkString(nil), .array(nil), .array([]),
        ])
    }

    func testReadsNestedArraysLikeAnXREADReplyAtEverySplit() {
        let reply: RESPValue = .array([
            .array([.bulk("sse:log"), .array([
                .array([.bulk("1-0"), .array([.bulk("channel"), .bulk("news"), .bulk("type"), .bulk("message"), .bulk("data"), .bulk("a\r\nb")])]),
                .array([.bulk("1-1"), .array([.bulk("channel"), .bulkString(nil), .integer(3), .array([]), .array(nil), .error("E x")])]),
            ])]),
        ])
        let bytes = reply.encoded + RESPValue.simpleString("PONG").encoded
        let result = readEverySplit(bytes)
        XCTAssertNil(result.failure)
        XCTAssertEqual(result.values, [reply, .simpleString("PONG")])
    }

    func testBulkStringsMayHoldAnyBytes() {
        let binary: [UInt8] = Array(0...255) + [13, 10, 13]
        let result = readEverySplit(RESPValue.bulkString(binary).encoded)
        XCTAssertEqual(result.values, [.bulkString(binary)])
    }

    func testABigBulkStringArrivingInManyPiecesIsReadOnce() {
        let big = [UInt8](repeating: 0x61, count: 3 << 20)
        let bytes = RESPValue.bulkString(big).encoded + RESPValue.integer(1).encoded
        let pieces = stride(from: 0, to: bytes.count, by: 65_536).map { bytes[$0..<min($0 + 65_536, bytes.count)] }
        let result = read(pieces)
        XCTAssertNil(result.failure)
        XCTAssertEqual(result.values.count, 2)
        XCTAssertEqual(result.values.first, .bulkString(big))
        XCTAssertEqual(result.values.last, .integer(1))
    }

    func testMalformedRepliesAreProtocolErrorsAtEverySplit() {
        let cases: [(String, String)] = [
            ("%2\r\n", "unexpected byte '%' where a reply starts"),  // RESP3 map
            ("hello\r\n", "unexpected byte 'h' where a reply starts"),
            (":12a\r\n", "bad integer"),
            (":\r\n", "bad integer"),
            (":99999999999999999999\r\n", "bad integer"),
            (":-0\r\n", "bad integer"),
            (":007\r\n", "bad integer"),
            ("$01\r\nx\r\n", "bad bulk length"),
            ("*-0\r\n", "bad array length"),
            ("$-2\r\n", "bad bulk length"),
            ("$x\r\n", "bad bulk length"),
            ("$3\r\nabcd\r\n", "bulk string not followed by CR LF"),
            ("*-5\r\n", "bad array length"),
            ("+OK\n", "line feed without carriage return"),
            ("+OK\rX", "carriage return without line feed"),
            ("*2\r\n:1\r\n!\r\n", "unexpected byte '!' where a reply starts"),
        ]
        for (input, message) in cases {
            let result = readEverySplit(input)
            XCTAssertEqual(result.failure?.message, message, input)
        }
    }

    func testValuesBeforeABreakAreStillDelivered() {
        let result = readEverySplit("+OK\r\n:1\r\n\u{0}garbage")
        XCTAssertEqual(result.values, [.simpleString("OK"), .integer(1)])
        XCTAssertNotNil(result.failure)
    }

    func testLimitsOnBulkArrayDepthAndLineAreEnforced() {
        var limits = RESPReader.Limits(maxBulkLength: 10, maxArrayLength: 3, maxDepth: 2, maxLineLength: 8)
        XCTAssertEqual(readEverySplit(Array("$11\r\n".utf8), limits: limits).failure?.message, "bulk string of 11 bytes, over the limit of 10")
        XCTAssertEqual(readEverySplit(Array("$10\r\n0123456789\r\n".utf8), limits: limits).values, [.bulk("0123456789")])
        XCTAssertEqual(readEverySplit(Array("*4\r\n".utf8), limits: limits).failure?.message, "array of 4 elements, over the limit of 3")
        XCTAssertEqual(readEverySplit(Array("*1\r\n*1\r\n*1\r\n:1\r\n".utf8), limits: limits).failure?.message, "arrays nested deeper than 2")
        XCTAssertEqual(readEverySplit(Array("*1\r\n*1\r\n:1\r\n".utf8), limits: limits).values, [.array([.array([.integer(1)])])])
        XCTAssertEqual(readEverySplit(Array("+123456789".utf8), limits: limits).failure?.message, "line longer than 8 bytes")
        XCTAssertEqual(readEverySplit(Array("+12345678\r\n".utf8), limits: limits).values, [.simpleString("12345678")])
        limits.maxArrayLength = 1 << 30
        // A huge count is a claim, not an allocation: nothing is reserved for it.
        XCTAssertEqual(read([Array("*1000000000\r\n:1\r\n".utf8)[...]], limits: limits).values, [])
    }

    func testTheReaderIsIdleOnlyBetweenReplies() {
        var reader = RESPReader()
        XCTAssertTrue(reader.isIdle)
        reader.feed(Array("*2\r\n:1\r\n".utf8))
        XCTAssertEqual(reader.next(), .needMore)
        XCTAssertFalse(reader.isIdle)
        reader.feed(Array(":2\r\n".utf8))
        XCTAssertEqual(reader.next(), .value(.array([.integer(1), .integer(2)])))
        XCTAssertTrue(reader.isIdle)
    }
}
