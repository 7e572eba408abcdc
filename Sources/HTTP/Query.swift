/// Percent-decoding and `application/x-www-form-urlencoded` query strings.
public enum Query {
    /// Decodes `%XX` escapes (and `+` as space when `plusAsSpace`); nil for a
    /// malformed escape or a result that is not UTF-8.
    @inlinable
    public static func percentDecode<S: StringProtocol>(_ text: S, plusAsSpace: Bool = false) -> String? {
        // Most paths and values have nothing to decode.
        let plain = text.utf8.withContiguousStorageIfAvailable { bytes in
            !bytes.contains(where: { $0 == 0x25 || (plusAsSpace && $0 == 0x2B) })
        } ?? !text.utf8.contains(where: { $0 == 0x25 || (plusAsSpace && $0 == 0x2B) })
        if plain { return String(text) }
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count)
        var it = text.utf8.makeIterator()
        while let b = it.next() {
            if b == 0x25 {
                guard let h = it.next(), let l = it.next(), let hv = RequestParser.hexValue(h),
                    let lv = RequestParser.hexValue(l)
                else { return nil }
                out.append(hv << 4 | lv)
            } else if b == 0x2B && plusAsSpace {
                out.append(0x20)
            } else {
                out.append(b)
            }
        }
        return String(validating: out, as: UTF8.self)
    }

    /// The query's `name=value` pairs in order, decoded; nil when any is malformed.
    @inlinable
    public static func parse<S: StringProtocol>(_ query: S?) -> [(name: String, value: String)]? {
        guard let query, !query.isEmpty else { return [] }
        var pairs: [(name: String, value: String)] = []
        // Split on the bytes `&` and `=`, not on Characters: a combining mark after
        // either would otherwise join it into one grapheme and hide it.
        let text = String(query)
        for part in text.utf8.split(separator: 0x26) where !part.isEmpty {
            let nameEnd = part.firstIndex(of: 0x3D) ?? part.endIndex
            guard let name = percentDecode(Substring(part[..<nameEnd]), plusAsSpace: true) else { return nil }
            let rawValue = nameEnd == part.endIndex ? "" : Substring(part[part.index(after: nameEnd)...])
            guard let value = percentDecode(rawValue, plusAsSpace: true) else { return nil }
            pairs.append((name, value))
        }
        return pairs
    }
}
