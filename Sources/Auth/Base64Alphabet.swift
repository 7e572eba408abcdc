/// One base64 alphabet (RFC 4648): the 64 digits and the table back from them.
/// `Base64` and `Base64URL` differ only in this and in padding.
struct Base64Alphabet: Sendable {
    let digits: [UInt8]
    /// For each byte, its digit value, or 0xFF when it is not a digit.
    let values: [UInt8]

    static let standard = Base64Alphabet(last2: "+/")
    static let url = Base64Alphabet(last2: "-_")

    private init(last2: String) {
        digits = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789".utf8) + Array(last2.utf8)
        var values = [UInt8](repeating: 0xFF, count: 256)
        for (value, digit) in digits.enumerated() { values[Int(digit)] = UInt8(value) }
        self.values = values
    }

    /// `input` encoded; takes any collection but works on contiguous bytes,
    /// so a caller in another module does not run an unspecialized loop.
    func encode(_ input: some Collection<UInt8>, padded: Bool) -> String {
        if let text = input.withContiguousStorageIfAvailable({ encode(bytes: $0, padded: padded) }) { return text }
        return Array(input).withUnsafeBufferPointer { encode(bytes: $0, padded: padded) }
    }

    private func encode(bytes: UnsafeBufferPointer<UInt8>, padded: Bool) -> String {
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count + 2) / 3 * 4)
        var i = 0
        while i + 3 <= bytes.count {
            let group = UInt32(bytes[i]) << 16 | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2])
            out.append(digits[Int(group >> 18 & 63)])
            out.append(digits[Int(group >> 12 & 63)])
            out.append(digits[Int(group >> 6 & 63)])
            out.append(digits[Int(group & 63)])
            i += 3
        }
        switch bytes.count - i {
        case 1:
            let group = UInt32(bytes[i]) << 16
            out.append(digits[Int(group >> 18 & 63)])
            out.append(digits[Int(group >> 12 & 63)])
            if padded { out += [0x3D, 0x3D] }
        case 2:
            let group = UInt32(bytes[i]) << 16 | UInt32(bytes[i + 1]) << 8
            out.append(digits[Int(group >> 18 & 63)])
            out.append(digits[Int(group >> 12 & 63)])
            out.append(digits[Int(group >> 6 & 63)])
            if padded { out.append(0x3D) }
        default:
            break
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The bytes `text` encodes, with or without its `=` padding; nil for any
    /// byte outside the alphabet (white space included), padding that is
    /// misplaced or of the wrong length, a length no encoding has, or unused
    /// low bits that are not zero (so each byte string has one encoding only).
    func decode(_ input: UnsafeBufferPointer<UInt8>) -> [UInt8]? {
        var end = input.count
        var pads = 0
        while end > 0, input[end - 1] == 0x3D, pads < 2 {
            end -= 1
            pads += 1
        }
        let remainder = end % 4
        if remainder == 1 { return nil }
        if pads > 0 && (input.count % 4 != 0 || pads != 4 - remainder) { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(end / 4 * 3 + 2)
        var group: UInt32 = 0
        var count = 0
        for i in 0..<end {
            let value = values[Int(input[i])]
            if value == 0xFF { return nil }
            group = group << 6 | UInt32(value)
            count += 1
            if count == 4 {
                out.append(UInt8(truncatingIfNeeded: group >> 16))
                out.append(UInt8(truncatingIfNeeded: group >> 8))
                out.append(UInt8(truncatingIfNeeded: group))
                group = 0
                count = 0
            }
        }
        switch count {
        case 2:
            guard group & 0xF == 0 else { return nil }
            out.append(UInt8(truncatingIfNeeded: group >> 4))
        case 3:
            guard group & 0x3 == 0 else { return nil }
            out.append(UInt8(truncatingIfNeeded: group >> 10))
            out.append(UInt8(truncatingIfNeeded: group >> 2))
        default:
            break
        }
        return out
    }
}
