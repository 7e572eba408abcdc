import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Incremental parser: bytes in (any split), records out.
///
/// One implementation for stdin, tail, exec and the streaming HTTP publish.
/// Lines end at LF (a CR before it is dropped). A line is handed on straight
/// from the caller's buffer when it is complete there; only a line split across
/// two `feed` calls is copied, so the `line` format costs one `memchr` and one
/// `String` per line, and none with `feedLines`, which hands out the bytes. Memory is bounded: a record over `maxRecordBytes` is
/// reported and the rest of it skipped without being stored.
///
/// - `line`: every non-empty line is an event of type `message`; a line that is
///   empty (after its CR) is skipped, so blank separator lines never become
///   empty events. Whitespace-only lines are kept: they are data.
/// - `sse`: WHATWG event-stream parsing (a lone CR also ends a line inside an
///   LF-terminated line); `id:` and `retry:` are ignored, a block without
///   `data:` is not an event. At `finish` a last block not followed by a blank
///   line is still an event: the input ended, no connection dropped.
/// - `json`: one object per line; blank lines are skipped. A non-string `data`
///   is sent as the JSON text the record has for it, without white space
///   outside strings (key order and number spelling as the sender wrote them).
///
/// Invalid UTF-8 becomes U+FFFD. A UTF-8 byte order mark at the start is dropped.
public struct RecordParser: Sendable {
    public let format: RecordFormat
    public let maxRecordBytes: Int

    /// The start of a line whose LF has not arrived yet.
    private var pending: [UInt8] = []
    /// Inside a line already reported as too long: drop bytes up to its LF.
    private var skippingLine = false
    /// 1-based number of the line being read.
    private var lineNumber = 1

    // The sse block being read.
    private var blockData: [UInt8] = []
    private var blockType: String? = nil
    private var blockStartLine = 0
    private var blockBytes = 0
    private var blockTooLong = false

    public init(format: RecordFormat, maxRecordBytes: Int = 1 << 20) {
        self.format = format
        self.maxRecordBytes = max(maxRecordBytes, 1)
    }

    /// Feeds the next bytes; calls `emit` for each complete record or malformed one.
    public mutating func feed(_ bytes: UnsafeRawBufferPointer, _ emit: (Result<Record, RecordError>) -> Void) {
        scan(bytes, emit) { line in emit(.success(Record(event: Event(data: String(decoding: line, as: UTF8.self))))) }
    }

    /// The `line` format without a `String` per line: `line` gets the bytes of
    /// each event's data (no line break in them, valid only during the call),
    /// `failure` each malformed record. The same records as `feed`, in order.
    public mutating func feedLines(
        _ bytes: UnsafeRawBufferPointer, line: (UnsafeRawBufferPointer) -> Void, failure: (RecordError) -> Void
    ) {
        precondition(format == .line, "feedLines reads the line format")
        scan(bytes, { if case .failure(let error) = $0 { failure(error) } }, line: line)
    }

    /// `finish` for `feedLines`.
    public mutating func finishLines(line: (UnsafeRawBufferPointer) -> Void, failure: (RecordError) -> Void) {
        precondition(format == .line, "finishLines reads the line format")
        finish({ if case .failure(let error) = $0 { failure(error) } }, line: line)
    }

    /// Splits `bytes` into lines; a `line` format record goes to `line`, everything else to `emit`.
    @inline(__always)
    private mutating func scan(
        _ bytes: UnsafeRawBufferPointer, _ emit: (Result<Record, RecordError>) -> Void,
        line lineRecord: (UnsafeRawBufferPointer) -> Void
    ) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        var p = base
        let end = base + bytes.count
        while p < end {
            let remaining = end - p
            let found = memchr(p, 0x0A, remaining).map { UnsafeRawPointer($0) }
            if skippingLine {
                guard let lf = found else { return }
                skippingLine = false
                lineNumber += 1
                p = lf + 1
                continue
            }
            guard let lf = found else {
                // +1: the CR of a CRLF may be here while its LF is still to come;
                // a BOM that starts the input is not part of the record either.
                let allowance = 1 + (lineNumber == 1 && startsWithBOM(p, remaining) ? 3 : 0)
                if pending.count + remaining > maxRecordBytes + allowance {
                    reportTooLong(emit)
                    releasePending()
                    skippingLine = true
                } else {
                    pending.append(contentsOf: UnsafeRawBufferPointer(start: p, count: remaining))
                }
                return
            }
            if pending.isEmpty {
                completeLine(UnsafeRawBufferPointer(start: p, count: lf - p), emit, lineRecord)
            } else {
                // Moved out of `self` so that `completeLine` may mutate `self` while reading it.
                var line = pending
                pending = []
                line.append(contentsOf: UnsafeRawBufferPointer(start: p, count: lf - p))
                line.withUnsafeBytes { completeLine($0, emit, lineRecord) }
                line.removeAll(keepingCapacity: true)
                pending = line
                if pending.capacity > 1 << 16 { releasePending() }
            }
            lineNumber += 1
            p = lf + 1
        }
    }

    /// End of input: emits a final unterminated record, if any.
    /// The parser is then ready for a new input, counting lines from 1.
    public mutating func finish(_ emit: (Result<Record, RecordError>) -> Void) {
        finish(emit) { line in emit(.success(Record(event: Event(data: String(decoding: line, as: UTF8.self))))) }
    }

    private mutating func finish(
        _ emit: (Result<Record, RecordError>) -> Void, line lineRecord: (UnsafeRawBufferPointer) -> Void
    ) {
        if !skippingLine && !pending.isEmpty {
            let line = pending
            pending = []
            line.withUnsafeBytes { completeLine($0, emit, lineRecord) }
        }
        if format == .sse { dispatchBlock(emit) }
        releasePending()
        skippingLine = false
        lineNumber = 1
    }

    /// True when the line being read (`pending`, then `count` bytes at `next`) starts with a UTF-8 BOM.
    private func startsWithBOM(_ next: UnsafeRawPointer, _ count: Int) -> Bool {
        let bom: [UInt8] = [0xEF, 0xBB, 0xBF]
        for i in 0..<3 {
            let byte: UInt8
            if i < pending.count {
                byte = pending[i]
            } else if i - pending.count < count {
                byte = next.load(fromByteOffset: i - pending.count, as: UInt8.self)
            } else {
                return false
            }
            if byte != bom[i] { return false }
        }
        return true
    }

    private mutating func releasePending() {
        pending = []
    }

    private mutating func reportTooLong(_ emit: (Result<Record, RecordError>) -> Void) {
        let message = "record longer than \(maxRecordBytes) bytes; skipped"
        if format == .sse {
            if blockTooLong { return }
            if blockBytes == 0 { blockStartLine = lineNumber }
            blockTooLong = true
            blockData = []
            emit(.failure(RecordError(line: blockStartLine, message: message)))
        } else {
            emit(.failure(RecordError(line: lineNumber, message: message)))
        }
    }

    /// One line without its LF.
    @inline(__always)
    private mutating func completeLine(
        _ raw: UnsafeRawBufferPointer, _ emit: (Result<Record, RecordError>) -> Void,
        _ lineRecord: (UnsafeRawBufferPointer) -> Void
    ) {
        var line = raw
        if let last = line.last, last == 0x0D { line = UnsafeRawBufferPointer(rebasing: line.dropLast()) }
        if lineNumber == 1, line.count >= 3, line[0] == 0xEF, line[1] == 0xBB, line[2] == 0xBF {
            line = UnsafeRawBufferPointer(rebasing: line.dropFirst(3))
        }
        if line.count > maxRecordBytes {
            reportTooLong(emit)
            return
        }
        switch format {
        case .line:
            if line.isEmpty { return }
            lineRecord(line)
        case .json:
            parseJSON(line, emit)
        case .sse:
            // A lone CR ends a line too (WHATWG); CRLF was dealt with above.
            var start = 0
            while let cr = line[start...].firstIndex(of: 0x0D) {
                sseLine(UnsafeRawBufferPointer(rebasing: line[start..<cr]), emit)
                start = cr + 1
            }
            sseLine(UnsafeRawBufferPointer(rebasing: line[start...]), emit)
        }
    }

    // MARK: - sse

    private mutating func sseLine(_ line: UnsafeRawBufferPointer, _ emit: (Result<Record, RecordError>) -> Void) {
        if line.isEmpty {
            dispatchBlock(emit)
            return
        }
        if blockBytes == 0 { blockStartLine = lineNumber }
        blockBytes += line.count + 1
        if blockTooLong { return }
        if blockBytes > maxRecordBytes + 1 {
            reportTooLong(emit)
            return
        }
        if line[0] == 0x3A { return }  // a comment
        let colon = line.firstIndex(of: 0x3A) ?? line.count
        let field = UnsafeRawBufferPointer(rebasing: line[..<colon])
        var valueStart = min(colon + 1, line.count)
        if valueStart < line.count, line[valueStart] == 0x20 { valueStart += 1 }
        let value = UnsafeRawBufferPointer(rebasing: line[valueStart...])
        if field.elementsEqual("data".utf8) {
            blockData.append(contentsOf: value)
            blockData.append(0x0A)
        } else if field.elementsEqual("event".utf8) {
            blockType = String(decoding: value, as: UTF8.self)
        }
        // `id`, `retry` and unknown fields are ignored: the server assigns ids
        // and sends its own retry hint.
    }

    private mutating func dispatchBlock(_ emit: (Result<Record, RecordError>) -> Void) {
        defer {
            blockData.removeAll(keepingCapacity: blockData.capacity <= 1 << 16)
            blockType = nil
            blockBytes = 0
            blockTooLong = false
        }
        guard !blockTooLong, !blockData.isEmpty else { return }
        blockData.removeLast()  // the LF after the last data line
        var type = blockType ?? ""
        if type.isEmpty { type = "message" }
        guard Event.isValidType(type) else {
            emit(.failure(RecordError(line: blockStartLine, message: "event type contains NUL")))
            return
        }
        emit(.success(Record(event: Event(type: type, data: String(decoding: blockData, as: UTF8.self)))))
    }

    // MARK: - json

    private func parseJSON(_ line: UnsafeRawBufferPointer, _ emit: (Result<Record, RecordError>) -> Void) {
        if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { return }
        func fail(_ message: String) { emit(.failure(RecordError(line: lineNumber, message: message))) }
        // Decoding first replaces invalid UTF-8, which JSONSerialization would refuse.
        let text = String(decoding: line, as: UTF8.self)
        guard let object = try? JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed]) else {
            return fail("not valid JSON")
        }
        guard let fields = object as? [String: Any] else {
            return fail("expected a JSON object {\"channel\"?, \"event\"?, \"data\"}")
        }
        var channel: String? = nil
        if let value = fields["channel"], !(value is NSNull) {
            guard let name = value as? String, ChannelName.isValid(name) else {
                return fail("\"channel\" must be a channel name: 1-128 of A-Z a-z 0-9 . _ - ~ and / inside")
            }
            channel = name
        }
        var type = "message"
        if let value = fields["event"], !(value is NSNull) {
            guard let name = value as? String, Event.isValidType(name) else {
                return fail("\"event\" must be a non-empty string without CR, LF or NUL")
            }
            type = name
        }
        guard let dataValue = fields["data"] else { return fail("missing \"data\"") }
        let data: String
        if let string = dataValue as? String {
            data = string
        } else if let raw = text.utf8.withContiguousStorageIfAvailable({ JSONText.member("data", in: UnsafeRawBufferPointer($0)) }) ?? nil {
            data = raw
        } else {
            guard
                let encoded = try? JSONSerialization.data(
                    withJSONObject: dataValue, options: [.fragmentsAllowed, .sortedKeys, .withoutEscapingSlashes])
            else { return fail("\"data\" cannot be encoded as JSON") }
            data = String(decoding: encoded, as: UTF8.self)
        }
        emit(.success(Record(channel: channel, event: Event(type: type, data: data))))
    }
}
