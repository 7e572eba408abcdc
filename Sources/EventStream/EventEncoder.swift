import Glibc

/// Turns events into event-stream bytes (WHATWG HTML, "Server-sent events").
///
/// Field order: `id:`, `event:` (only when not `message`), one `data:` line per
/// line of data, then the blank line that dispatches the event.
public enum EventEncoder {
    /// Encodes a published event once, as the chunk every subscriber receives.
    public static func encode(id: EventID, type: String, data: String) -> WireEvent {
        var data = data
        return data.withUTF8 { encode(id: id, type: type, data: UnsafeRawBufferPointer($0)) }
    }

    /// The same from the data's bytes (UTF-8), for publishers that have no `String` per event.
    public static func encode(id: EventID, type typeName: String, data: UnsafeRawBufferPointer) -> WireEvent {
        var type = typeName
        let dataBytes = data.assumingMemoryBound(to: UInt8.self)
        return type.withUTF8 { typeBytes in
            let sendsType = !(typeBytes.count == 7 && memcmp(typeBytes.baseAddress!, "message", 7) == 0)
            // Most data is one line: two vectorised scans settle it, once for sizing and writing.
            let oneLine = isOneLine(dataBytes)
            let idCount = decimalDigits(id.millis) + 1 + decimalDigits(id.sequence)
            var bodyCount = 4 + idCount + 1 + 1  // "id: " ID "\n" ... "\n"
            if sendsType { bodyCount += 7 + typeBytes.count + 1 }
            if oneLine {
                bodyCount += 6 + dataBytes.count + 1
            } else {
                forEachLine(dataBytes) { line in bodyCount += 6 + line.count + 1 }
            }
            let prefixCount = hexDigits(bodyCount) + 2
            return WireEvent.make(id: id, type: typeName, capacity: prefixCount + bodyCount + 2) { out in
                var w = Writer(out)
                w.chunkHead(bodyCount)
                w.ascii("id: ")
                w.decimal(id.millis)
                w.byte(0x2D)
                w.decimal(id.sequence)
                w.byte(0x0A)
                if sendsType {
                    w.ascii("event: ")
                    w.bytes(typeBytes)
                    w.byte(0x0A)
                }
                if oneLine {
                    w.ascii("data: ")
                    w.bytes(dataBytes)
                    w.byte(0x0A)
                } else {
                    w.dataLines(dataBytes)
                }
                w.byte(0x0A)
                w.ascii("\r\n")
                return (prefixCount, bodyCount, w.offset)
            }
        }
    }

    /// An event-stream block for bytes that are not shared (the `sse-gap` notice):
    /// no id, so it never moves a client's Last-Event-ID.
    public static func block(type: String, data: String) -> [UInt8] {
        var out: [UInt8] = []
        if type != "message" { out += Array("event: \(type)\n".utf8) }
        var data = data
        data.withUTF8 { bytes in
            forEachLine(bytes) { line in
                out += "data: ".utf8
                out += line
                out.append(0x0A)
            }
        }
        out.append(0x0A)
        return out
    }

    /// `retry: MS` sent at the start of every stream.
    public static func retry(milliseconds: Int) -> [UInt8] { Array("retry: \(milliseconds)\n\n".utf8) }

    /// A comment line: keeps proxies and clients from timing out an idle stream.
    public static let heartbeat: [UInt8] = Array(":\n\n".utf8)

    // MARK: - sizes and writing

    /// True when `data` has no LF or CR: one `data:` line.
    @inline(__always)
    static func isOneLine(_ data: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let base = data.baseAddress else { return true }
        return memchr(base, 0x0A, data.count) == nil && memchr(base, 0x0D, data.count) == nil
    }

    /// Calls `body` for each line of `data`, split at LF, CRLF or a lone CR.
    /// Empty data is one empty line, so the event still carries `data:`.
    @inline(__always)
    static func forEachLine(_ data: UnsafeBufferPointer<UInt8>, _ body: (UnsafeBufferPointer<UInt8>) -> Void) {
        if isOneLine(data) {
            body(data)
            return
        }
        var start = 0
        var i = 0
        let n = data.count
        while i < n {
            let b = data[i]
            if b == 0x0A || b == 0x0D {
                body(UnsafeBufferPointer(rebasing: data[start..<i]))
                if b == 0x0D && i + 1 < n && data[i + 1] == 0x0A { i += 1 }
                start = i + 1
            }
            i += 1
        }
        body(UnsafeBufferPointer(rebasing: data[start..<n]))
    }

    /// Powers of ten that fit in a UInt64, for counting digits without dividing.
    static let powersOfTen: [UInt64] = [
        1, 10, 100, 1_000, 10_000, 100_000, 1_000_000, 10_000_000, 100_000_000, 1_000_000_000, 10_000_000_000,
        100_000_000_000, 1_000_000_000_000, 10_000_000_000_000, 100_000_000_000_000, 1_000_000_000_000_000,
        10_000_000_000_000_000, 100_000_000_000_000_000, 1_000_000_000_000_000_000, 10_000_000_000_000_000_000,
    ]

    /// "00" "01" … "99": ids are written two digits per division. Every event
    /// carries a 13-digit millisecond id, and dividing by ten digit by digit,
    /// twice (to count, then to write), was half of the encoder's time.
    static let digitPairs: [UInt8] = {
        var pairs: [UInt8] = []
        for n in 0..<100 {
            let tens = UInt8(n / 10)
            let ones = UInt8(n % 10)
            pairs.append(0x30 + tens)
            pairs.append(0x30 + ones)
        }
        return pairs
    }()

    @inline(__always)
    static func decimalDigits(_ value: UInt64) -> Int {
        if value == 0 { return 1 }
        // log10 from the bit length (1233 / 4096 ≈ log10 2), then one comparison.
        let estimate = ((64 - value.leadingZeroBitCount) &* 1233) >> 12
        return value >= powersOfTen[estimate] ? estimate + 1 : estimate
    }

    @inline(__always)
    static func hexDigits(_ value: Int) -> Int {
        max(1, (UInt64(truncatingIfNeeded: value).bitWidth - UInt64(truncatingIfNeeded: value).leadingZeroBitCount + 3) >> 2)
    }

    struct Writer {
        let out: UnsafeMutableRawBufferPointer
        var offset = 0
        init(_ out: UnsafeMutableRawBufferPointer) { self.out = out }

        mutating func byte(_ b: UInt8) {
            out[offset] = b
            offset += 1
        }
        mutating func bytes(_ b: UnsafeBufferPointer<UInt8>) {
            guard let base = b.baseAddress, b.count > 0 else { return }
            (out.baseAddress! + offset).copyMemory(from: base, byteCount: b.count)
            offset += b.count
        }
        mutating func ascii(_ s: StaticString) {
            bytes(UnsafeBufferPointer(start: s.utf8Start, count: s.utf8CodeUnitCount))
        }
        mutating func decimal(_ value: UInt64) {
            let digits = EventEncoder.decimalDigits(value)
            var v = value
            var k = offset + digits
            EventEncoder.digitPairs.withUnsafeBufferPointer { pairs in
                while v >= 100 {
                    let pair = Int(v % 100) &* 2
                    v /= 100
                    k -= 2
                    out[k] = pairs[pair]
                    out[k + 1] = pairs[pair + 1]
                }
                if v >= 10 {
                    let pair = Int(v) &* 2
                    out[k - 2] = pairs[pair]
                    out[k - 1] = pairs[pair + 1]
                } else {
                    out[k - 1] = UInt8(0x30 + v)
                }
            }
            offset += digits
        }
        /// Lower-case, from the last digit back: a chunk size per event, so no shifts by a
        /// computed amount and no call (this was a fifth of a batch event's encoding).
        @inline(__always)
        mutating func hex(_ value: Int) {
            let digits = EventEncoder.hexDigits(value)
            var v = UInt64(truncatingIfNeeded: value)
            var k = offset + digits
            while k > offset {
                k -= 1
                let nibble = UInt8(truncatingIfNeeded: v & 0xF)
                out[k] = nibble < 10 ? 0x30 + nibble : 0x57 + nibble
                v >>= 4
            }
            offset += digits
        }
        /// A chunk's size line (`ChunkFraming`).
        mutating func chunkHead(_ count: Int) {
            hex(count)
            ascii("\r\n")
        }
        mutating func dataLines(_ data: UnsafeBufferPointer<UInt8>) {
            EventEncoder.forEachLine(data) { line in
                ascii("data: ")
                bytes(line)
                byte(0x0A)
            }
        }
    }
}
