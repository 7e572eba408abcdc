/// HMAC-SHA-256 (RFC 2104): `HMACSHA256.authenticate(key:message:)` at once, or
/// a value made once per key that authenticates many messages.
///
/// The value keeps the hashers already fed with the padded key, so each
/// message costs its own blocks plus three, not the key's work again.
public struct HMACSHA256: Sendable {
    private let inner: SHA256
    private let outer: SHA256

    public init(key: some Collection<UInt8>) {
        // A key longer than a block is hashed first; a shorter one is padded with zeros.
        var block = key.count > SHA256.blockCount ? SHA256.hash(key) : Array(key)
        block += repeatElement(0, count: SHA256.blockCount - block.count)
        var inner = SHA256()
        inner.update(block.map { $0 ^ 0x36 })
        var outer = SHA256()
        outer.update(block.map { $0 ^ 0x5C })
        self.inner = inner
        self.outer = outer
    }

    /// The 32-byte tag of `message`.
    public func authenticate(_ message: some Collection<UInt8>) -> [UInt8] {
        var inner = self.inner
        inner.update(message)
        var outer = self.outer
        outer.update(inner.finalize())
        return outer.finalize()
    }

    /// The 32-byte tag of `message` under `key`.
    public static func authenticate(key: some Collection<UInt8>, message: some Collection<UInt8>) -> [UInt8] {
        HMACSHA256(key: key).authenticate(message)
    }
}
