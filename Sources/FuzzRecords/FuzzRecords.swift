import EventStream
import Foundation
import FuzzSupport

/// libFuzzer target for `RecordParser` (line, sse and json) and for the
/// event encoder's output read back by the sse parser.
///
/// Input: byte 0 picks the format (and the encoder round trip), byte 1 the
/// record limit, bytes 2–3 a split offset; the rest is fed whole, split, and
/// byte by byte, and every way must give the same records and errors.
enum FuzzRecords {
    static func run(_ format: RecordFormat, maxRecordBytes: Int, _ pieces: [ArraySlice<UInt8>]) -> [Result<Record, RecordError>] {
        var parser = RecordParser(format: format, maxRecordBytes: maxRecordBytes)
        var out: [Result<Record, RecordError>] = []
        for piece in pieces {
            piece.withUnsafeBytes { parser.feed($0) { out.append($0) } }
        }
        parser.finish { out.append($0) }
        for result in out {
            guard case .success(let record) = result else { continue }
            check(record, format: format)
        }
        if format == .line {
            precondition(runLines(maxRecordBytes: maxRecordBytes, pieces) == out, "feedLines disagrees with feed")
        }
        return out
    }

    /// The `line` format through `feedLines` (bytes, no String per line), as records.
    static func runLines(maxRecordBytes: Int, _ pieces: [ArraySlice<UInt8>]) -> [Result<Record, RecordError>] {
        var parser = RecordParser(format: .line, maxRecordBytes: maxRecordBytes)
        var out: [Result<Record, RecordError>] = []
        let line: (UnsafeRawBufferPointer) -> Void = { out.append(.success(Record(event: Event(data: String(decoding: $0, as: UTF8.self))))) }
        let failure: (RecordError) -> Void = { out.append(.failure($0)) }
        for piece in pieces {
            piece.withUnsafeBytes { parser.feedLines($0, line: line, failure: failure) }
        }
        parser.finishLines(line: line, failure: failure)
        return out
    }

    /// What the hub relies on in a parsed record.
    static func check(_ record: Record, format: RecordFormat) {
        precondition(Event.isValidType(record.event.type), "invalid type \(record.event.type.debugDescription)")
        if let channel = record.channel {
            precondition(format == .json && ChannelName.isValid(channel), "channel \(channel.debugDescription)")
        }
        switch format {
        case .line:
            precondition(!record.event.data.isEmpty && !record.event.data.utf8.contains(0x0A), "line data \(record.event.data.debugDescription)")
        case .sse:
            precondition(!record.event.data.utf8.contains(0x0D), "CR left in sse data")
        case .json:
            break
        }
    }

    /// Encodes an event, then reads the chunk back: its size line is right, and
    /// the sse parser finds exactly that event (line breaks normalised to LF).
    static func roundTrip(_ input: ArraySlice<UInt8>, selector: UInt8) {
        let text = String(decoding: input, as: UTF8.self)
        var type = "message"
        var data = text
        if selector & 0x10 != 0, let bar = text.firstIndex(of: "|") {
            type = String(text[..<bar])
            data = String(text[text.index(after: bar)...])
            // The publish paths refuse these types; the encoder is never given them.
            guard Event.isValidType(type) else { return }
        }
        let id = EventID(millis: UInt64(input.count) * 1_000_003, sequence: UInt64(selector))
        let wire = EventEncoder.encode(id: id, type: type, data: data)
        let bytes = Array(UnsafeRawBufferPointer(wire.bytes))
        let fromBytes = Array(data.utf8).withUnsafeBytes { EventEncoder.encode(id: id, type: type, data: $0) }
        precondition(Array(UnsafeRawBufferPointer(fromBytes.bytes)) == bytes, "the encoder's byte entry disagrees")
        guard let crlf = bytes.firstIndex(of: 0x0D), crlf + 1 < bytes.count, bytes[crlf + 1] == 0x0A,
            let size = Int(String(decoding: bytes[..<crlf], as: UTF8.self), radix: 16)
        else { preconditionFailure("no chunk size line") }
        precondition(wire.bodyOffset == crlf + 2 && wire.bodyCount == size, "chunk size \(size), body \(wire.bodyCount)")
        precondition(bytes.count == wire.bodyOffset + size + 2 && bytes.suffix(2) == [0x0D, 0x0A], "chunk framing")
        let body = bytes[wire.bodyOffset..<(wire.bodyOffset + size)]
        precondition(body.starts(with: Array("id: \(id)\n".utf8)), "id line")
        precondition(body.suffix(2) == [0x0A, 0x0A], "a block ends with a blank line")
        // Exactly one blank line, at the end: nothing in the data ends the block early.
        precondition(zip(body.dropLast(), body.dropFirst()).filter { $0 == 0x0A && $1 == 0x0A }.count == 1, "blank line inside the block")
        let records = run(.sse, maxRecordBytes: 1 << 20, [body])
        // Line breaks normalised on the bytes: CR LF, then a lone CR, become LF (a
        // String search would miss a CR that a combining mark joins into one Character).
        var normalised: [UInt8] = []
        var bytesIn = Array(data.utf8)[...]
        while let b = bytesIn.popFirst() {
            if b == 0x0D {
                if bytesIn.first == 0x0A { bytesIn = bytesIn.dropFirst() }
                normalised.append(0x0A)
            } else {
                normalised.append(b)
            }
        }
        let expectedData = String(decoding: normalised, as: UTF8.self)
        
        precondition(records.count == 1, "\(records.count) records from one block")
        guard case .success(let record) = records[0] else { preconditionFailure("\(records[0])") }
        precondition(record.event.type == type, "type \(record.event.type.debugDescription) != \(type.debugDescription)")
        precondition(record.event.data == expectedData, "data \(record.event.data.debugDescription) != \(expectedData.debugDescription)")
    }

    static func test(_ data: UnsafeRawBufferPointer) {
        guard data.count >= 4 else { return }
        let selector = data[0]
        let input = Array(data[4...])[...]
        if selector & 0x80 != 0 {
            roundTrip(input, selector: selector)
            return
        }
        let format = RecordFormat.allCases[Int(selector) % RecordFormat.allCases.count]
        let limit = Int(data[1]) + 1
        let split = (Int(data[2]) << 8 | Int(data[3])) % (input.count + 1)
        SplitCheck.agree(input, split: split, trickleUpTo: 512, label: "\(format) ") { run(format, maxRecordBytes: limit, $0) }
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRecordsOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    FuzzRecords.test(UnsafeRawBufferPointer(start: data, count: size))
    return 0
}

/// The entry point: libFuzzer's driver when fuzzing, otherwise a corpus replay.
@main
enum FuzzRecordsMain {
    static func main() {
        FuzzEntry.run(fuzzRecordsOne) { FuzzRecords.test($0) }
    }
}
