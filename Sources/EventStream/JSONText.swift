import Reactor

/// Finds a member's value in the text of a JSON object that JSONSerialization
/// has already accepted, and gives it back compact: the sender's own key order
/// and number spelling, without re-encoding (which costs five times the parse).
public enum JSONText {
    /// The compact text of the top-level member `key`, or nil when it is not
    /// found as written (e.g. a key spelled with escapes): the caller then
    /// encodes the parsed value instead.
    static func member(_ key: String, in text: UnsafeRawBufferPointer) -> String? {
        var i = 0
        let n = text.count
        func skipSpace() {
            while i < n, isSpace(text[i]) { i += 1 }
        }
        skipSpace()
        guard i < n, text[i] == UInt8(ascii: "{") else { return nil }
        i += 1
        var found: Range<Int>? = nil
        while true {
            skipSpace()
            guard i < n, text[i] == UInt8(ascii: "\"") else { break }
            let keyStart = i + 1
            guard let keyEnd = endOfString(text, from: i) else { return nil }
            let name = UnsafeRawBufferPointer(rebasing: text[keyStart..<(keyEnd - 1)])
            i = keyEnd
            skipSpace()
            guard i < n, text[i] == UInt8(ascii: ":") else { return nil }
            i += 1
            skipSpace()
            let valueStart = i
            guard let valueEnd = endOfValue(text, from: i) else { return nil }
            i = valueEnd
            if name.contains(UInt8(ascii: "\\")) { return nil }
            // The last of duplicate keys, as JSONSerialization keeps.
            if name.elementsEqual(key.utf8) { found = valueStart..<valueEnd }
            skipSpace()
            guard i < n, text[i] == UInt8(ascii: ",") else { break }
            i += 1
        }
        guard let found else { return nil }
        return compact(UnsafeRawBufferPointer(rebasing: text[found]))
    }

    private static func isSpace(_ b: UInt8) -> Bool { b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D }

    /// Index after the closing quote of the string that starts at `start`.
    private static func endOfString(_ text: UnsafeRawBufferPointer, from start: Int) -> Int? {
        var i = start + 1
        while i < text.count {
            switch text[i] {
            case UInt8(ascii: "\\"): i += 2
            case UInt8(ascii: "\""): return i + 1
            default: i += 1
            }
        }
        return nil
    }

    /// Index after the value that starts at `start`.
    private static func endOfValue(_ text: UnsafeRawBufferPointer, from start: Int) -> Int? {
        guard start < text.count else { return nil }
        var i = start
        switch text[i] {
        case UInt8(ascii: "\""):
            return endOfString(text, from: i)
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            var depth = 0
            while i < text.count {
                switch text[i] {
                case UInt8(ascii: "\""):
                    guard let end = endOfString(text, from: i) else { return nil }
                    i = end
                    continue
                case UInt8(ascii: "{"), UInt8(ascii: "["): depth += 1
                case UInt8(ascii: "}"), UInt8(ascii: "]"): depth -= 1
                default: break
                }
                i += 1
                if depth == 0 { return i }
            }
            return nil
        default:
            while i < text.count {
                let b = text[i]
                if isSpace(b) || b == UInt8(ascii: ",") || b == UInt8(ascii: "}") || b == UInt8(ascii: "]") { break }
                i += 1
            }
            return i
        }
    }

    /// The value without white space outside its strings.
    private static func compact(_ value: UnsafeRawBufferPointer) -> String {
        if !value.contains(where: isSpace) { return String(decoding: value, as: UTF8.self) }
        var out: [UInt8] = []
        out.reserveCapacity(value.count)
        var inString = false
        var escaped = false
        for b in value {
            if inString {
                if escaped {
                    escaped = false
                } else if b == UInt8(ascii: "\\") {
                    escaped = true
                } else if b == UInt8(ascii: "\"") {
                    inString = false
                }
            } else if b == UInt8(ascii: "\"") {
                inString = true
            } else if isSpace(b) {
                continue
            }
            out.append(b)
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// `text` as a JSON string literal, quotes included: what JSON the server
    /// writes by hand puts around any text that may need escaping.
    public static func quoted(_ text: String) -> String {
        LogText.jsonString(text, escapingDelete: false)
    }
}
