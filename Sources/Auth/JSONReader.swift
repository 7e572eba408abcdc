/// A strict recursive-descent JSON reader over a whole text (RFC 8259):
/// what `JSONValue.parse` runs. The texts it reads are small and whole (a
/// token's parts, a header value), so it is not incremental.
struct JSONReader {
    private let bytes: [UInt8]
    private let maxDepth: Int
    private var i = 0
    private var depth = 0

    init(_ bytes: [UInt8], maxDepth: Int) {
        self.bytes = bytes
        self.maxDepth = maxDepth
    }

    /// The one value of the text, with only white space around it.
    mutating func document() throws(JSONError) -> JSONValue {
        skipSpace()
        let value = try self.value()
        skipSpace()
        guard i == bytes.count else { throw JSONError("unexpected text after the value", at: i) }
        return value
    }

    private mutating func skipSpace() {
        while i < bytes.count, bytes[i] == 0x20 || bytes[i] == 0x0A || bytes[i] == 0x0D || bytes[i] == 0x09 { i += 1 }
    }

    private mutating func value() throws(JSONError) -> JSONValue {
        guard i < bytes.count else { throw JSONError("unexpected end of text", at: i) }
        switch bytes[i] {
        case UInt8(ascii: "{"): return try object()
        case UInt8(ascii: "["): return try array()
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"):
            try literal("true")
            return .bool(true)
        case UInt8(ascii: "f"):
            try literal("false")
            return .bool(false)
        case UInt8(ascii: "n"):
            try literal("null")
            return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try number())
        default: throw JSONError("unexpected character", at: i)
        }
    }

    private mutating func literal(_ word: StaticString) throws(JSONError) {
        let n = word.utf8CodeUnitCount
        guard bytes.count - i >= n else { throw JSONError("unexpected end of text", at: i) }
        for k in 0..<n where bytes[i + k] != word.utf8Start[k] { throw JSONError("unexpected character", at: i + k) }
        i += n
    }

    private mutating func enter() throws(JSONError) {
        depth += 1
        if depth > maxDepth { throw JSONError("nested deeper than \(maxDepth)", at: i) }
    }

    private mutating func object() throws(JSONError) -> JSONValue {
        try enter()
        i += 1
        var members: [JSONValue.Member] = []
        // Objects are small: names are compared in a list, a set only past a dozen.
        var names: Set<String> = []
        skipSpace()
        if i < bytes.count, bytes[i] == UInt8(ascii: "}") {
            i += 1
            depth -= 1
            return .object(members)
        }
        while true {
            skipSpace()
            guard i < bytes.count, bytes[i] == UInt8(ascii: "\"") else { throw JSONError("expected a member name", at: i) }
            let nameOffset = i
            let name = try string()
            let duplicate: Bool
            if members.count < 12 {
                duplicate = members.contains { $0.name == name }
            } else {
                if names.isEmpty { names = Set(members.map(\.name)) }
                duplicate = !names.insert(name).inserted
            }
            if duplicate { throw JSONError("duplicate member \"\(name)\"", at: nameOffset) }
            skipSpace()
            guard i < bytes.count, bytes[i] == UInt8(ascii: ":") else { throw JSONError("expected ':'", at: i) }
            i += 1
            skipSpace()
            members.append(JSONValue.Member(name, try value()))
            skipSpace()
            guard i < bytes.count else { throw JSONError("unexpected end of text", at: i) }
            if bytes[i] == UInt8(ascii: ",") {
                i += 1
                continue
            }
            guard bytes[i] == UInt8(ascii: "}") else { throw JSONError("expected ',' or '}'", at: i) }
            i += 1
            depth -= 1
            return .object(members)
        }
    }

    private mutating func array() throws(JSONError) -> JSONValue {
        try enter()
        i += 1
        var items: [JSONValue] = []
        skipSpace()
        if i < bytes.count, bytes[i] == UInt8(ascii: "]") {
            i += 1
            depth -= 1
            return .array(items)
        }
        while true {
            skipSpace()
            items.append(try value())
            skipSpace()
            guard i < bytes.count else { throw JSONError("unexpected end of text", at: i) }
            if bytes[i] == UInt8(ascii: ",") {
                i += 1
                continue
            }
            guard bytes[i] == UInt8(ascii: "]") else { throw JSONError("expected ',' or ']'", at: i) }
            i += 1
            depth -= 1
            return .array(items)
        }
    }

    /// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`, returned as written.
    private mutating func number() throws(JSONError) -> String {
        let start = i
        if bytes[i] == UInt8(ascii: "-") { i += 1 }
        guard i < bytes.count, isDigit(bytes[i]) else { throw JSONError("expected a digit", at: i) }
        if bytes[i] == UInt8(ascii: "0") {
            i += 1
        } else {
            while i < bytes.count, isDigit(bytes[i]) { i += 1 }
        }
        if i < bytes.count, bytes[i] == UInt8(ascii: ".") {
            i += 1
            guard i < bytes.count, isDigit(bytes[i]) else { throw JSONError("expected a digit after '.'", at: i) }
            while i < bytes.count, isDigit(bytes[i]) { i += 1 }
        }
        if i < bytes.count, bytes[i] == UInt8(ascii: "e") || bytes[i] == UInt8(ascii: "E") {
            i += 1
            if i < bytes.count, bytes[i] == UInt8(ascii: "+") || bytes[i] == UInt8(ascii: "-") { i += 1 }
            guard i < bytes.count, isDigit(bytes[i]) else { throw JSONError("expected a digit in the exponent", at: i) }
            while i < bytes.count, isDigit(bytes[i]) { i += 1 }
        }
        // A number runs into a letter or digit only when it is malformed ("01", "1x").
        if i < bytes.count, isDigit(bytes[i]) || isLetter(bytes[i]) { throw JSONError("malformed number", at: i) }
        return String(decoding: bytes[start..<i], as: UTF8.self)
    }

    private func isDigit(_ b: UInt8) -> Bool { b >= 0x30 && b <= 0x39 }
    private func isLetter(_ b: UInt8) -> Bool { (b | 0x20) >= 0x61 && (b | 0x20) <= 0x7A }

    /// The string starting at the quote at `i`, its escapes decoded.
    private mutating func string() throws(JSONError) -> String {
        let open = i
        i += 1
        let start = i
        // Most strings have no escape: take their bytes as they are.
        while i < bytes.count, bytes[i] != UInt8(ascii: "\""), bytes[i] != UInt8(ascii: "\\"), bytes[i] >= 0x20 { i += 1 }
        guard i < bytes.count else { throw JSONError("unterminated string", at: open) }
        var out: [UInt8]
        if bytes[i] == UInt8(ascii: "\"") {
            i += 1
            return try utf8(bytes[start..<(i - 1)], at: start)
        }
        out = Array(bytes[start..<i])
        while true {
            guard i < bytes.count else { throw JSONError("unterminated string", at: open) }
            let b = bytes[i]
            if b == UInt8(ascii: "\"") {
                i += 1
                return try utf8(out[...], at: start)
            }
            if b < 0x20 { throw JSONError("control character in a string", at: i) }
            if b != UInt8(ascii: "\\") {
                out.append(b)
                i += 1
                continue
            }
            guard i + 1 < bytes.count else { throw JSONError("unterminated string", at: open) }
            let escape = bytes[i + 1]
            i += 2
            switch escape {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(escape)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = try hex4()
                if scalar >= 0xD800 && scalar < 0xDC00 {
                    // A high surrogate must be followed by an escaped low one.
                    guard i + 1 < bytes.count, bytes[i] == UInt8(ascii: "\\"), bytes[i + 1] == UInt8(ascii: "u") else {
                        throw JSONError("unpaired surrogate", at: i)
                    }
                    i += 2
                    let low = try hex4()
                    guard low >= 0xDC00 && low < 0xE000 else { throw JSONError("unpaired surrogate", at: i - 6) }
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                } else if scalar >= 0xDC00 && scalar < 0xE000 {
                    throw JSONError("unpaired surrogate", at: i - 6)
                }
                guard let unicode = Unicode.Scalar(scalar) else { throw JSONError("bad \\u escape", at: i - 6) }
                out += Character(unicode).utf8
            default:
                throw JSONError("bad escape", at: i - 2)
            }
        }
    }

    private mutating func hex4() throws(JSONError) -> UInt32 {
        guard bytes.count - i >= 4 else { throw JSONError("unexpected end of text", at: i) }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let b = bytes[i]
            let digit: UInt32
            switch b {
            case 0x30...0x39: digit = UInt32(b - 0x30)
            case 0x41...0x46: digit = UInt32(b - 0x41 + 10)
            case 0x61...0x66: digit = UInt32(b - 0x61 + 10)
            default: throw JSONError("bad \\u escape", at: i)
            }
            value = value << 4 | digit
            i += 1
        }
        return value
    }

    private func utf8(_ raw: ArraySlice<UInt8>, at offset: Int) throws(JSONError) -> String {
        let text: String? = raw.withUnsafeBufferPointer { buffer in
            // Most names and values are ASCII, which needs no validating.
            if !buffer.contains(where: { $0 >= 0x80 }) { return String(decoding: buffer, as: UTF8.self) }
            return String(validating: buffer, as: UTF8.self)
        }
        guard let text else { throw JSONError("string is not UTF-8", at: offset) }
        return text
    }
}
