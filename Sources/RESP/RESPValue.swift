/// One RESP2 reply from a Redis server.
public enum RESPValue: Equatable, Hashable, Sendable {
    /// `+OK`: a short status line.
    case simpleString(String)
    /// `-ERR ...`: the server refused the command; the text names why.
    case error(String)
    /// `:42`
    case integer(Int64)
    /// `$N` and N bytes; nil for `$-1` (no such key).
    case bulkString([UInt8]?)
    /// `*N` and N values; nil for `*-1` (e.g. `XREAD BLOCK` timing out).
    case array([RESPValue]?)

    /// A bulk string holding `text`'s UTF-8 bytes (for tests and fake servers).
    public static func bulk(_ text: String) -> RESPValue { .bulkString(Array(text.utf8)) }

    /// The text of a simple or bulk string (bytes decoded as UTF-8, invalid bytes replaced).
    public var string: String? {
        switch self {
        case .simpleString(let text): return text
        case .bulkString(let bytes?): return String(decoding: bytes, as: UTF8.self)
        default: return nil
        }
    }

    /// The bytes of a bulk or simple string.
    public var bytes: [UInt8]? {
        switch self {
        case .bulkString(let bytes?): return bytes
        case .simpleString(let text): return Array(text.utf8)
        default: return nil
        }
    }

    /// An integer reply, or a string reply holding a decimal integer.
    public var integer: Int64? {
        switch self {
        case .integer(let value): return value
        case .bulkString(let bytes?): return Int64(String(decoding: bytes, as: UTF8.self))
        case .simpleString(let text): return Int64(text)
        default: return nil
        }
    }

    /// The elements of a non-nil array.
    public var array: [RESPValue]? {
        if case .array(let elements?) = self { return elements }
        return nil
    }

    /// True for `$-1` and `*-1`.
    public var isNil: Bool {
        switch self {
        case .bulkString(nil), .array(nil): return true
        default: return false
        }
    }

    /// Appends this value in RESP2 form. A simple string or error holding CR or LF
    /// would not read back; callers (tests, fake servers) do not write those.
    public func encode(into buffer: inout [UInt8]) {
        switch self {
        case .simpleString(let text):
            buffer.append(UInt8(ascii: "+"))
            buffer.append(contentsOf: text.utf8)
        case .error(let text):
            buffer.append(UInt8(ascii: "-"))
            buffer.append(contentsOf: text.utf8)
        case .integer(let value):
            buffer.append(UInt8(ascii: ":"))
            if value < 0 { buffer.append(UInt8(ascii: "-")) }
            RESPCommand.appendDecimal(value.magnitude, to: &buffer)
        case .bulkString(nil):
            buffer.append(contentsOf: [UInt8(ascii: "$"), UInt8(ascii: "-"), UInt8(ascii: "1")])
        case .bulkString(let bytes?):
            buffer.append(UInt8(ascii: "$"))
            RESPCommand.appendDecimal(UInt64(bytes.count), to: &buffer)
            buffer.append(contentsOf: [13, 10])
            buffer.append(contentsOf: bytes)
        case .array(nil):
            buffer.append(contentsOf: [UInt8(ascii: "*"), UInt8(ascii: "-"), UInt8(ascii: "1")])
        case .array(let elements?):
            buffer.append(UInt8(ascii: "*"))
            RESPCommand.appendDecimal(UInt64(elements.count), to: &buffer)
            buffer.append(contentsOf: [13, 10])
            for element in elements { element.encode(into: &buffer) }
            return
        }
        buffer.append(contentsOf: [13, 10])
    }

    /// This value in RESP2 form.
    public var encoded: [UInt8] {
        var buffer: [UInt8] = []
        encode(into: &buffer)
        return buffer
    }
}
