import EventStream
import Foundation
import FuzzSupport
import HTTP

/// libFuzzer target for what the router decodes from a request target:
/// `Query.parse`, `Query.percentDecode`, `EventID(parsing:)` and `ChannelName.isValid`.
///
/// Each is checked against a plain reference written here, and decoding is
/// checked against encoding: what decodes, re-encoded, decodes to the same.
enum FuzzQuery {
    static func hex(_ b: UInt8) -> UInt8? {
        switch b {
        case 0x30...0x39: return b - 0x30
        case 0x41...0x46: return b - 0x41 + 10
        case 0x61...0x66: return b - 0x61 + 10
        default: return nil
        }
    }

    /// The reference: a byte loop over an array, independent of the one in `Query`.
    static func referenceDecode(_ bytes: [UInt8], plusAsSpace: Bool) -> String? {
        var out: [UInt8] = []
        var i = 0
        while i < bytes.count {
            let b = bytes[i]
            if b == 0x25 {
                guard i + 2 < bytes.count, let h = hex(bytes[i + 1]), let l = hex(bytes[i + 2]) else { return nil }
                out.append(h * 16 + l)
                i += 3
                continue
            }
            out.append(b == 0x2B && plusAsSpace ? 0x20 : b)
            i += 1
        }
        return String(validating: out, as: UTF8.self)
    }

    static func encode(_ text: String) -> String {
        var out = ""
        for b in text.utf8 {
            switch b {
            case 0x30...0x39, 0x41...0x5A, 0x61...0x7A, 0x2D, 0x2E, 0x5F, 0x7E: out.unicodeScalars.append(Unicode.Scalar(b))
            default: out += "%" + String(b >> 4, radix: 16, uppercase: true) + String(b & 0xF, radix: 16, uppercase: true)
            }
        }
        return out
    }

    static func referenceChannelName(_ bytes: [UInt8]) -> Bool {
        guard (1...128).contains(bytes.count), bytes.first != 0x2F, bytes.last != 0x2F else { return false }
        let allowed = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-~/".utf8)
        return bytes.allSatisfy { allowed.contains($0) }
    }

    static func test(_ data: UnsafeRawBufferPointer) {
        let bytes = Array(data)
        // Request targets are visible ASCII by the time they reach the router,
        // but the decoders are public: give them any bytes as a String would hold them.
        let text = String(decoding: bytes, as: UTF8.self)
        let utf8 = Array(text.utf8)

        for plus in [false, true] {
            let decoded = Query.percentDecode(text, plusAsSpace: plus)
            let reference = referenceDecode(utf8, plusAsSpace: plus)
            precondition(decoded == reference, "percentDecode(\(text.debugDescription), plus: \(plus)) = \(decoded.debugDescription), expected \(reference.debugDescription)")
            // Substrings (what the router passes) decode the same as Strings.
            let middle = text.dropFirst(min(1, text.count))
            precondition(Query.percentDecode(middle, plusAsSpace: plus) == referenceDecode(Array(middle.utf8), plusAsSpace: plus))
            if let decoded {
                precondition(Query.percentDecode(encode(decoded), plusAsSpace: plus) == decoded, "round trip of \(decoded.debugDescription)")
            }
        }

        if let pairs = Query.parse(text) {
            // Every pair came from a non-empty `&`-separated part, decoded the reference way.
            let parts = utf8.split(separator: 0x26, omittingEmptySubsequences: true)
            precondition(pairs.count == parts.count, "\(pairs.count) pairs from \(parts.count) parts")
            for (pair, part) in zip(pairs, parts) {
                let part = Array(part)
                let eq = part.firstIndex(of: 0x3D) ?? part.count
                precondition(referenceDecode(Array(part[..<eq]), plusAsSpace: true) == pair.name)
                precondition(referenceDecode(eq == part.count ? [] : Array(part[(eq + 1)...]), plusAsSpace: true) == pair.value)
            }
            // Re-encoded, the pairs parse back to themselves.
            let again = pairs.map { encode($0.name) + "=" + encode($0.value) }.joined(separator: "&")
            let reparsed = Query.parse(again)
            precondition(reparsed?.map(\.name) == pairs.map(\.name) && reparsed?.map(\.value) == pairs.map(\.value), "query round trip")
        } else {
            precondition(
                utf8.split(separator: 0x26).contains { part in
                    let part = Array(part)
                    let eq = part.firstIndex(of: 0x3D) ?? part.count
                    return referenceDecode(Array(part[..<eq]), plusAsSpace: true) == nil
                        || referenceDecode(eq == part.count ? [] : Array(part[(eq + 1)...]), plusAsSpace: true) == nil
                }, "parse refused a query whose parts all decode")
        }

        precondition(ChannelName.isValid(text) == referenceChannelName(utf8), "ChannelName.isValid(\(text.debugDescription))")
        precondition(ChannelName.isValid(text[...]) == referenceChannelName(utf8))

        if let id = EventID(parsing: text) {
            precondition(EventID(parsing: id.description) == id, "id round trip \(id)")
            precondition(text.utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2D }, "id from \(text.debugDescription)")
            // Ordering agrees with comparing the groups numerically from the left.
            let next = EventID(millis: id.millis, sequence: id.sequence &+ 1)
            precondition(id.sequence == .max || id < next)
        } else {
            // Only digit groups (at most two, each fitting in 64 bits) parse.
            let groups = utf8.split(separator: 0x2D, omittingEmptySubsequences: false)
            let readable = (1...2).contains(groups.count) && groups.allSatisfy { group in
                !group.isEmpty && group.count <= 20 && group.allSatisfy { $0 >= 0x30 && $0 <= 0x39 } && UInt64(String(decoding: group, as: UTF8.self)) != nil
            }
            precondition(!readable, "EventID refused \(text.debugDescription)")
        }
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzQueryOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    FuzzQuery.test(UnsafeRawBufferPointer(start: data, count: size))
    return 0
}

/// The entry point: libFuzzer's driver when fuzzing, otherwise a corpus replay.
@main
enum FuzzQueryMain {
    static func main() {
        FuzzEntry.run(fuzzQueryOne) { FuzzQuery.test($0) }
    }
}
