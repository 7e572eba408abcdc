/// Channel names: 1–128 of `A-Z a-z 0-9 . _ - ~`, and `/` inside (not at either end).
public enum ChannelName {
    public static let maxLength = 128

    @inlinable
    public static func isValid<S: StringProtocol>(_ name: S) -> Bool {
        // A native string's bytes are contiguous: checked there, not through the generic view.
        if let valid = name.utf8.withContiguousStorageIfAvailable({ isValid(bytes: $0) }) { return valid }
        return Array(name.utf8).withUnsafeBufferPointer { isValid(bytes: $0) }
    }

    @inlinable
    static func isValid(bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let first = bytes.first, bytes.count <= maxLength, first != 0x2F, bytes[bytes.count - 1] != 0x2F else { return false }
        for b in bytes {
            switch b {
            case 0x41...0x5A, 0x61...0x7A, 0x30...0x39, 0x2E, 0x5F, 0x2D, 0x7E, 0x2F: continue
            default: return false
            }
        }
        return true
    }

    /// Names under `presence/` carry the server's own join and leave events.
    @inlinable
    public static func isReserved<S: StringProtocol>(_ name: S) -> Bool {
        name.utf8.withContiguousStorageIfAvailable { bytes in
            bytes.count >= 9 && UnsafeRawBufferPointer(bytes).prefix(9).elementsEqual("presence/".utf8)
        } ?? name.utf8.starts(with: "presence/".utf8)
    }
}
