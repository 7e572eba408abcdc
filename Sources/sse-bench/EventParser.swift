import Glibc

/// An incremental, allocation-free `text/event-stream` parser that recognises the bench's own
/// payload. Lines end at LF, CRLF or CR (WHATWG); a blank line dispatches the event if it had a
/// `data` field. The first `data` line of the form `{"t":NANOS,"seq":N…` gives the event's publish
/// time and sequence number; any other event is counted as foreign. Comments, `id:`, `event:` and
/// `retry:` lines are skipped.
struct EventParser {
    /// What a dispatched event carried.
    struct Stamp {
        var publishedAt: Int64
        var seq: Int64
    }

    private enum Line: UInt8 { case start, fieldName, dataValue, skip }
    private enum Value: UInt8 { case optionalSpace, prefixT, digitsT, prefixSeq, digitsSeq, matched, foreign }

    private var line = Line.start
    private var value = Value.optionalSpace
    private var column = 0  // position inside "data:" or inside a literal of the payload
    private var afterCR = false
    private var hasData = false
    private var stamped = false
    private var t: Int64 = 0
    private var seq: Int64 = 0
    private var current = Stamp(publishedAt: 0, seq: 0)

    private static let dataField: StaticString = "data:"
    private static let prefixT: StaticString = "{\"t\":"
    private static let prefixSeq: StaticString = ",\"seq\":"

    /// Feeds `p[range]`; `dispatch(stamp?)` runs for each complete event (nil: not the bench's payload).
    @inline(__always)
    mutating func feed(_ p: UnsafePointer<UInt8>, _ range: Range<Int>, _ dispatch: (Stamp?) -> Void) {
        var i = range.lowerBound
        let end = range.upperBound
        while i < end {
            let b = p[i]
            i += 1
            if afterCR {
                afterCR = false
                if b == 0x0A { continue }
            }
            if b == 0x0A || b == 0x0D {
                afterCR = b == 0x0D
                endOfLine(dispatch)
                continue
            }
            switch line {
            case .start:
                if b == 0x64 {  // 'd'
                    line = .fieldName
                    column = 1
                } else {
                    line = .skip
                }
            case .fieldName:
                if b == Self.dataField.utf8Start[column] {
                    column += 1
                    if column == 5 {
                        line = .dataValue
                        value = .optionalSpace
                        column = 0
                    }
                } else {
                    line = .skip
                }
            case .dataValue:
                // A value that ends within this read, the common case: its stamp is read
                // straight from the bytes, with no state kept from byte to byte.
                if value == .optionalSpace {
                    let stop = Self.lineEnd(p, i - 1, end)
                    if stop < end {
                        readStamp(p, i - 1, stop)
                        i = stop
                        continue
                    }
                }
                valueByte(b)
                // The stamp's bytes in a loop of their own (no dispatch on the line state per byte).
                while i < end && value != .matched && value != .foreign {
                    let c = p[i]
                    if c == 0x0A || c == 0x0D { break }
                    valueByte(c)
                    i += 1
                }
                // Once the stamp is read (or the value is not the bench's), the rest of the line
                // (the padding) only has to be skipped, not looked at byte by byte.
                if value == .matched || value == .foreign { i = Self.lineEnd(p, i, end) }
            case .skip:
                // The rest of a line we do not care about: jump straight to its end.
                i = Self.lineEnd(p, i, end)
            }
        }
    }

    /// The position of the first CR or LF in `p[i..<end]`, or `end`: two vectorised scans.
    @inline(__always)
    private static func lineEnd(_ p: UnsafePointer<UInt8>, _ i: Int, _ end: Int) -> Int {
        guard i < end else { return end }
        var stop = end
        if let lf = memchr(p + i, 0x0A, end - i) { stop = UnsafeRawPointer(lf) - UnsafeRawPointer(p) }
        if let cr = memchr(p + i, 0x0D, stop - i) { stop = UnsafeRawPointer(cr) - UnsafeRawPointer(p) }
        return stop
    }

    /// Reads a whole value, `p[start..<stop]`, as `valueByte` would byte by byte: an optional
    /// space, `{"t":` digits `,"seq":` at least one digit, then anything (matched), else foreign.
    @inline(__always)
    private mutating func readStamp(_ p: UnsafePointer<UInt8>, _ start: Int, _ stop: Int) {
        var i = start
        if i < stop && p[i] == 0x20 { i += 1 }
        value = .foreign
        guard Self.hasLiteral(Self.prefixT, p, i, stop) else { return }
        i += 5
        var t: Int64 = 0
        // Nanoseconds are 19 digits: eight at a time while eight are digits.
        while i + 8 <= stop, let eight = Self.eightDigits(UnsafeRawPointer(p + i).loadUnaligned(as: UInt64.self)) {
            t = t &* 100_000_000 &+ Int64(eight)
            i += 8
        }
        while i < stop && p[i] &- 0x30 < 10 {
            t = t &* 10 &+ Int64(p[i] &- 0x30)
            i += 1
        }
        guard Self.hasLiteral(Self.prefixSeq, p, i, stop) else { return }
        i += 7
        let digitsStart = i
        var seq: Int64 = 0
        while i < stop && p[i] &- 0x30 < 10 {
            seq = seq &* 10 &+ Int64(p[i] &- 0x30)
            i += 1
        }
        guard i > digitsStart else { return }
        self.t = t
        self.seq = seq
        value = .matched
    }

    /// The value of eight ASCII digits loaded little-endian, or nil when any byte is not
    /// a digit (a byte is a digit when its high nibble is 3 and adding 6 keeps it so).
    @inline(__always)
    private static func eightDigits(_ word: UInt64) -> UInt64? {
        let high: UInt64 = 0xF0F0_F0F0_F0F0_F0F0
        let zeros: UInt64 = 0x3030_3030_3030_3030
        guard word & high == zeros, (word &+ 0x0606_0606_0606_0606) & high == zeros else { return nil }
        var v = word &- zeros
        // Pairs, then fours, then all eight: each step joins neighbouring groups.
        v = (v &* 10 &+ (v >> 8)) & 0x00FF_00FF_00FF_00FF
        v = (v &* 100 &+ (v >> 16)) & 0x0000_FFFF_0000_FFFF
        return (v &* 10_000 &+ (v >> 32)) & 0xFFFF_FFFF
    }

    /// True when `p[i..<stop]` starts with `literal`.
    @inline(__always)
    private static func hasLiteral(_ literal: StaticString, _ p: UnsafePointer<UInt8>, _ i: Int, _ stop: Int) -> Bool {
        let count = literal.utf8CodeUnitCount
        return stop - i >= count && memcmp(p + i, literal.utf8Start, count) == 0
    }

    @inline(__always)
    private mutating func valueByte(_ b: UInt8) {
        switch value {
        case .optionalSpace:
            value = .prefixT
            column = 0
            if b == 0x20 { return }
            // Already the prefix's first byte (handled here, not by a recursive call, so this inlines).
            if b == Self.prefixT.utf8Start[0] { column = 1 } else { value = .foreign }
        case .prefixT:
            if b == Self.prefixT.utf8Start[column] {
                column += 1
                if column == 5 { value = .digitsT; t = 0 }
            } else {
                value = .foreign
            }
        case .digitsT:
            if b >= 0x30 && b <= 0x39 {
                t = t &* 10 &+ Int64(b - 0x30)
            } else if b == 0x2C {  // ','
                value = .prefixSeq
                column = 1
            } else {
                value = .foreign
            }
        case .prefixSeq:
            if b == Self.prefixSeq.utf8Start[column] {
                column += 1
                if column == 7 { value = .digitsSeq; seq = 0; column = 0 }
            } else {
                value = .foreign
            }
        case .digitsSeq:
            if b >= 0x30 && b <= 0x39 {
                seq = seq &* 10 &+ Int64(b - 0x30)
                column += 1
            } else {
                value = column > 0 ? .matched : .foreign
            }
        case .matched, .foreign:
            break
        }
    }

    @inline(__always)
    private mutating func endOfLine(_ dispatch: (Stamp?) -> Void) {
        switch line {
        case .start:
            // A blank line ends the event; one without any data line dispatches nothing.
            if hasData { dispatch(stamped ? current : nil) }
            hasData = false
            stamped = false
        case .fieldName:
            // "data" alone on a line is a data field with an empty value.
            if column == 4 { hasData = true }
        case .dataValue:
            hasData = true
            if !stamped && (value == .matched || (value == .digitsSeq && column > 0)) {
                stamped = true
                current = Stamp(publishedAt: t, seq: seq)
            }
        case .skip:
            break
        }
        line = .start
    }
}
