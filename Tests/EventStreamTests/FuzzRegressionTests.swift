import XCTest

@testable import EventStream

/// Inputs the fuzzers (Tests/Fuzz/run.sh) found, kept so they stay fixed.
final class FuzzRegressionTests: XCTestCase {
    private func records(_ pieces: [[UInt8]], format: RecordFormat, limit: Int) -> [Result<Record, RecordError>] {
        var parser = RecordParser(format: format, maxRecordBytes: limit)
        var out: [Result<Record, RecordError>] = []
        for piece in pieces { piece.withUnsafeBytes { parser.feed($0) { out.append($0) } } }
        parser.finish { out.append($0) }
        return out
    }

    /// FuzzRecords: a first line with a UTF-8 BOM and exactly `maxRecordBytes` of
    /// text is an event when it arrives in one piece, but "record longer than 5
    /// bytes" when its LF comes in a later read: while the line is incomplete the
    /// length check (RecordParser.feed, the `pending.count + remaining >
    /// maxRecordBytes + 1` test) counts the 3 BOM bytes that `completeLine` strips.
    func testABOMDoesNotCountTowardsTheRecordLimitWhateverTheSplit() {
        let line: [UInt8] = [0xEF, 0xBB, 0xBF] + Array("abcde".utf8)
        for format in [RecordFormat.line, .sse] {
            let input = format == .line ? line + [0x0A] : [0xEF, 0xBB, 0xBF] + Array("data:".utf8) + [0x0A, 0x0A]
            let limit = 5
            let whole = records([input], format: format, limit: limit)
            for split in 0...input.count {
                XCTAssertEqual(records([Array(input[..<split]), Array(input[split...])], format: format, limit: limit), whole, "\(format), split at \(split)")
            }
            XCTAssertEqual(records(input.map { [$0] }, format: format, limit: limit), whole, "\(format), byte by byte")
        }
        XCTAssertEqual(records([line + [0x0A]], format: .line, limit: 5), [.success(Record(event: Event(data: "abcde")))])
    }
}
