/// The JSON line a client prints for a received event: `{"id"?, "event", "data"}`,
/// the shape `sse-serve --format json` reads back (it ignores `id`).
public enum ClientEventJSON {
    /// Appends the event's line, LF included. `id` is left out when the event carried none.
    public static func append(_ event: ParsedEvent, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "{"))
        if let id = event.id {
            appendKey("id", to: &out)
            appendString(id, to: &out)
            out.append(UInt8(ascii: ","))
        }
        appendKey("event", to: &out)
        appendString(event.type, to: &out)
        out.append(UInt8(ascii: ","))
        appendKey("data", to: &out)
        appendString(event.data, to: &out)
        out.append(UInt8(ascii: "}"))
        out.append(0x0A)
    }

    /// The event's line as text, without the LF.
    public static func line(_ event: ParsedEvent) -> String {
        var out: [UInt8] = []
        append(event, to: &out)
        return String(decoding: out.dropLast(), as: UTF8.self)
    }

    private static func appendKey(_ key: StaticString, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        out.append(contentsOf: UnsafeBufferPointer(start: key.utf8Start, count: key.utf8CodeUnitCount))
        out.append(contentsOf: [UInt8(ascii: "\""), UInt8(ascii: ":")])
    }

    private static let hex: [UInt8] = Array("0123456789abcdef".utf8)

    /// A JSON string literal (RFC 8259): `"` and `\` escaped, control characters as
    /// `\n`-style or `\u00XX`; everything else (valid UTF-8 already) as it is.
    /// U+2028 and U+2029 are escaped too, so the line is also valid JavaScript.
    public static func appendString(_ text: String, to out: inout [UInt8]) {
        var text = text
        text.withUTF8 { appendString(UnsafeRawBufferPointer($0), to: &out) }
    }

    private static func appendString(_ bytes: UnsafeRawBufferPointer, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        // Runs of bytes that need no escape are copied at once.
        var run = 0
        var i = 0
        let n = bytes.count
        while i < n {
            let b = bytes[i]
            if b >= 0x20 && b != UInt8(ascii: "\"") && b != UInt8(ascii: "\\") && b != 0xE2 {
                i += 1
                continue
            }
            if b == 0xE2 {
                guard i + 2 < n, bytes[i + 1] == 0x80, bytes[i + 2] == 0xA8 || bytes[i + 2] == 0xA9 else {
                    i += 1
                    continue
                }
                out.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[run..<i]))
                out.append(contentsOf: bytes[i + 2] == 0xA8 ? Self.lineSeparator : Self.paragraphSeparator)
                i += 3
                run = i
                continue
            }
            out.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[run..<i]))
            switch b {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"): out.append(contentsOf: [UInt8(ascii: "\\"), b])
            case 0x0A: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
            case 0x0D: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "r")])
            case 0x09: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "t")])
            default:
                out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"), hex[Int(b >> 4)], hex[Int(b & 0xF)]])
            }
            i += 1
            run = i
        }
        out.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[run..<n]))
        out.append(UInt8(ascii: "\""))
    }

    private static let lineSeparator: [UInt8] = Array("\\u2028".utf8)
    private static let paragraphSeparator: [UInt8] = Array("\\u2029".utf8)
}
