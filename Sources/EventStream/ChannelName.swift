/// Channel names: 1–128 of `A-Z a-z 0-9 . _ - ~`, and `/` inside (not at either end).
public enum ChannelName {
    public static let maxLength = 128

    @inlinable
    public static func isValid<S: StringProtocol>(_ name: S) -> Bool {
        let utf8 = name.utf8
        guard !utf8.isEmpty, utf8.count <= maxLength, utf8.first != 0x2F, name.last != "/" else { return false }
        for b in utf8 {
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
        name.utf8.starts(with: "presence/".utf8)
    }
}
