/// A JSON value (RFC 8259), as `JSONValue.parse` reads it from a token, a
/// header or a callback's answer.
///
/// Numbers keep the text they were written with (it matched the JSON number
/// grammar), so `compactText` gives back `1e3` as `1e3` and a 20-digit id
/// unrounded. Objects keep their members in the order written.
public enum JSONValue: Equatable, Sendable {
    case null
    case bool(Bool)
    case number(String)
    case string(String)
    case array([JSONValue])
    case object([Member])

    /// One `"name": value` of an object.
    public struct Member: Equatable, Sendable {
        public var name: String
        public var value: JSONValue

        public init(_ name: String, _ value: JSONValue) {
            self.name = name
            self.value = value
        }
    }

    /// Reads `bytes` as one JSON text: strict UTF-8, no duplicate member names
    /// (the reader refuses them rather than pick one, RFC 7515 §5.2), nothing
    /// after the value but white space, arrays and objects nested at most
    /// `maxDepth` deep.
    public static func parse(_ bytes: some Collection<UInt8>, maxDepth: Int = 32) -> Result<JSONValue, JSONError> {
        var reader = JSONReader(Array(bytes), maxDepth: maxDepth)
        do {
            return .success(try reader.document())
        } catch {
            return .failure(error)
        }
    }

    /// Reads `text` as one JSON text (see `parse(_:maxDepth:)` for bytes).
    public static func parse(_ text: String, maxDepth: Int = 32) -> Result<JSONValue, JSONError> {
        parse(Array(text.utf8), maxDepth: maxDepth)
    }

    /// The value of member `name` when this is an object that has one.
    public subscript(name: String) -> JSONValue? {
        guard case .object(let members) = self else { return nil }
        return members.first { $0.name == name }?.value
    }

    public var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    public var arrayValue: [JSONValue]? {
        if case .array(let a) = self { return a }
        return nil
    }

    /// The number as a Double (which may round it, and is ±infinity past its range).
    public var doubleValue: Double? {
        if case .number(let text) = self { return Double(text) }
        return nil
    }

    public var isObject: Bool {
        if case .object = self { return true }
        return false
    }

    /// The value as JSON text with no white space outside strings; strings
    /// escape only what JSON requires (`"`, `\` and control characters).
    public var compactText: String {
        var out: [UInt8] = []
        write(to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    private func write(to out: inout [UInt8]) {
        switch self {
        case .null: out += "null".utf8
        case .bool(let b): out += (b ? "true" : "false").utf8
        case .number(let text): out += text.utf8
        case .string(let s): Self.writeString(s, to: &out)
        case .array(let items):
            out.append(UInt8(ascii: "["))
            for (i, item) in items.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                item.write(to: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let members):
            out.append(UInt8(ascii: "{"))
            for (i, member) in members.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                Self.writeString(member.name, to: &out)
                out.append(UInt8(ascii: ":"))
                member.value.write(to: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    private static func writeString(_ s: String, to out: inout [UInt8]) {
        let hex = Array("0123456789abcdef".utf8)
        out.append(UInt8(ascii: "\""))
        for b in s.utf8 {
            switch b {
            case UInt8(ascii: "\""): out += [0x5C, 0x22]
            case UInt8(ascii: "\\"): out += [0x5C, 0x5C]
            case 0x0A: out += [0x5C, UInt8(ascii: "n")]
            case 0x0D: out += [0x5C, UInt8(ascii: "r")]
            case 0x09: out += [0x5C, UInt8(ascii: "t")]
            case 0x08: out += [0x5C, UInt8(ascii: "b")]
            case 0x0C: out += [0x5C, UInt8(ascii: "f")]
            case 0..<0x20: out += [0x5C, UInt8(ascii: "u"), 0x30, 0x30, hex[Int(b >> 4)], hex[Int(b & 15)]]
            default: out.append(b)
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}
