import Glibc

/// The client side of `text/event-stream`: bytes in (any split), events out, by the
/// WHATWG "event stream interpretation" rules.
///
/// - The bytes are UTF-8 (invalid sequences become U+FFFD); one byte order mark at
///   the very start is dropped.
/// - Lines end at CRLF, LF or a lone CR. A line is handled as soon as its CR arrives;
///   an LF that follows in the next piece is then taken as the rest of that CRLF.
/// - A blank line dispatches the event being built, when its data is not empty.
///   `data` lines are joined with LF; `event` sets the type (`message` by default);
///   `id` sets the last event id unless it contains NUL, and the id persists for the
///   events after it (and updates even when no event is dispatched); `retry` counts
///   only when it is all ASCII digits. A line without a colon is a field name with an
///   empty value; one space after the colon is dropped. Unknown fields are ignored;
///   a line starting with a colon is a comment (reported only when asked).
/// - At the end of the stream (`finish`) an event not followed by a blank line is dropped.
///
/// Memory is bounded: a line over `maxLineBytes` is reported and skipped without
/// being stored, and an event whose data grows over `maxDataBytes` is reported and
/// dropped. A line complete within one piece is read in place; only a line split
/// across pieces is copied, and strings are made once per field.
public struct EventStreamParser: Sendable {
    /// What the stream said besides events.
    public enum Output: Sendable, Equatable {
        case event(ParsedEvent)
        /// A `retry:` field: the reconnection time in milliseconds.
        case retry(Int)
        /// A comment line's text after the colon (one leading space dropped); only with `reportsComments`.
        case comment(String)
        /// A line longer than `maxLineBytes` was skipped.
        case lineTooLong
        /// An event whose data grew over `maxDataBytes` was dropped.
        case eventTooLong
    }

    public let maxLineBytes: Int
    public let maxDataBytes: Int
    public let reportsComments: Bool

    /// The last event id string: what to send as `Last-Event-ID` on reconnecting.
    /// It changes when an event block ends (at its blank line), not at its `id:` line.
    public private(set) var lastEventID: String

    /// The id buffer: set by `id:`, committed to `lastEventID` at a blank line.
    private var idBuffer: String
    private var eventID: String? = nil
    private var typeBuffer: String? = nil
    private var dataBuffer: [UInt8] = []
    private var dataTooLong = false

    /// The start of a line whose end has not arrived yet.
    private var pending: [UInt8] = []
    /// Inside a line already reported as too long: drop bytes up to its end.
    private var skippingLine = false
    /// The last piece ended with a CR: an LF first in the next piece belongs to it.
    private var afterCR = false
    /// Bytes of a byte order mark seen at the start of the stream; -1 once past it.
    private var bomSeen = 0

    public init(lastEventID: String = "", maxLineBytes: Int = 1 << 20, maxDataBytes: Int = 16 << 20, reportsComments: Bool = false) {
        self.lastEventID = lastEventID
        self.idBuffer = lastEventID
        self.maxLineBytes = max(maxLineBytes, 1)
        self.maxDataBytes = max(maxDataBytes, 1)
        self.reportsComments = reportsComments
    }

    private static let bom: [UInt8] = [0xEF, 0xBB, 0xBF]

    /// Feeds the next bytes of the stream; calls `emit` for each event, retry, comment or report.
    public mutating func feed(_ bytes: UnsafeRawBufferPointer, _ emit: (Output) -> Void) {
        var bytes = bytes
        while bomSeen >= 0, let first = bytes.first {
            if first == Self.bom[bomSeen] {
                bomSeen += 1
                bytes = UnsafeRawBufferPointer(rebasing: bytes.dropFirst())
                if bomSeen == 3 { bomSeen = -1 }
            } else {
                // Not a BOM after all: what looked like its start is text.
                let seen = bomSeen
                bomSeen = -1
                Self.bom[..<seen].withUnsafeBytes { scan($0, emit) }
            }
        }
        scan(bytes, emit)
    }

    /// The end of the stream: the unfinished line and event are dropped. The parser is
    /// then ready for the next connection's stream, keeping `lastEventID`.
    public mutating func finish() {
        pending = []
        skippingLine = false
        afterCR = false
        bomSeen = 0
        idBuffer = lastEventID
        resetEvent()
    }

    private mutating func resetEvent() {
        eventID = nil
        typeBuffer = nil
        dataBuffer.removeAll(keepingCapacity: dataBuffer.capacity <= 1 << 16)
        dataTooLong = false
    }

    // MARK: - lines

    private mutating func scan(_ bytes: UnsafeRawBufferPointer, _ emit: (Output) -> Void) {
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return }
        let n = bytes.count
        var i = 0
        if afterCR {
            afterCR = false
            if bytes[0] == 0x0A { i = 1 }
        }
        // Where the next LF and CR are (n: none); each is searched for again only once
        // passed, so a piece of many lines is scanned in linear time.
        var nextLF = -1
        var nextCR = -1
        while i < n {
            if nextLF < i { nextLF = memchr(base + i, 0x0A, n - i).map { UnsafeRawPointer($0) - base } ?? n }
            if nextCR < i { nextCR = memchr(base + i, 0x0D, n - i).map { UnsafeRawPointer($0) - base } ?? n }
            let end = min(nextLF, nextCR)
            if end == n {
                // The line goes on in the next piece.
                if skippingLine { return }
                if pending.count + (n - i) > maxLineBytes {
                    pending = []
                    skippingLine = true
                    emit(.lineTooLong)
                } else {
                    pending.append(contentsOf: UnsafeRawBufferPointer(start: base + i, count: n - i))
                }
                return
            }
            if skippingLine {
                skippingLine = false
            } else if pending.isEmpty {
                if end - i > maxLineBytes {
                    emit(.lineTooLong)
                } else {
                    line(UnsafeRawBufferPointer(start: base + i, count: end - i), emit)
                }
            } else if pending.count + (end - i) > maxLineBytes {
                pending = []
                emit(.lineTooLong)
            } else {
                // Moved out of `self` so that `line` may mutate `self` while reading it.
                var whole = pending
                pending = []
                whole.append(contentsOf: UnsafeRawBufferPointer(start: base + i, count: end - i))
                whole.withUnsafeBytes { line($0, emit) }
                whole.removeAll(keepingCapacity: true)
                if whole.capacity <= 1 << 16 { pending = whole }
            }
            i = end + 1
            if end == nextCR {
                if i == n {
                    afterCR = true
                } else if bytes[i] == 0x0A {
                    i += 1
                }
            }
        }
    }

    /// One line, without its end.
    private mutating func line(_ line: UnsafeRawBufferPointer, _ emit: (Output) -> Void) {
        guard let first = line.first else { return dispatch(emit) }
        if first == 0x3A {
            if reportsComments { emit(.comment(String(decoding: Self.value(line, from: 1), as: UTF8.self))) }
            return
        }
        let colon = line.firstIndex(of: 0x3A) ?? line.count
        let name = UnsafeRawBufferPointer(rebasing: line[..<colon])
        let value = Self.value(line, from: colon + 1)
        switch name.count {
        case 4 where name.elementsEqual("data".utf8):
            if dataTooLong { return }
            if dataBuffer.count + value.count + 1 > maxDataBytes {
                dataTooLong = true
                dataBuffer = []
                emit(.eventTooLong)
                return
            }
            dataBuffer.append(contentsOf: value)
            dataBuffer.append(0x0A)
        case 5 where name.elementsEqual("event".utf8):
            typeBuffer = String(decoding: value, as: UTF8.self)
        case 2 where name.elementsEqual("id".utf8):
            if !value.contains(0) {
                idBuffer = String(decoding: value, as: UTF8.self)
                eventID = idBuffer
            }
        case 5 where name.elementsEqual("retry".utf8):
            guard !value.isEmpty, value.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return }
            var ms = 0
            for digit in value {
                let (times10, o1) = ms.multipliedReportingOverflow(by: 10)
                let (sum, o2) = times10.addingReportingOverflow(Int(digit - 0x30))
                if o1 || o2 {
                    ms = .max
                    break
                }
                ms = sum
            }
            emit(.retry(ms))
        default:
            break
        }
    }

    /// The field value: after the colon at `start - 1`, less one leading space.
    private static func value(_ line: UnsafeRawBufferPointer, from start: Int) -> UnsafeRawBufferPointer {
        guard start < line.count else { return UnsafeRawBufferPointer(rebasing: line[line.count...]) }
        let from = line[start] == 0x20 ? start + 1 : start
        return UnsafeRawBufferPointer(rebasing: line[from...])
    }

    private mutating func dispatch(_ emit: (Output) -> Void) {
        lastEventID = idBuffer
        defer { resetEvent() }
        guard !dataTooLong, !dataBuffer.isEmpty else { return }
        dataBuffer.removeLast()  // the LF after the last data line
        let type = typeBuffer.flatMap { $0.isEmpty ? nil : $0 } ?? "message"
        let data = String(decoding: dataBuffer, as: UTF8.self)
        emit(.event(ParsedEvent(id: eventID, lastEventID: lastEventID, type: type, data: data)))
    }
}
