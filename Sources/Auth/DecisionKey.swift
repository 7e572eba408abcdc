/// The key under which an auth decision is cached and its question shared:
/// the credentials and channels of a request, hashed.
public enum DecisionKey {
    /// A fixed-size key (43 characters) for these credentials and channels.
    /// Each part is length-prefixed before hashing, so no two different sets
    /// of parts share a key by concatenation, and the cache keeps no cookie
    /// or token in memory as written.
    public static func make(cookie: String?, authorization: String?, token: String?, channels: [String]) -> String {
        var hasher = SHA256()
        func add(_ part: String?) {
            guard let part else {
                hasher.update([0])
                return
            }
            let count = UInt64(part.utf8.count)
            hasher.update([1] + (0..<8).map { UInt8(truncatingIfNeeded: count >> (8 * $0)) })
            hasher.update(part.utf8)
        }
        add(cookie)
        add(authorization)
        add(token)
        for channel in channels { add(channel) }
        return Base64URL.encode(hasher.finalize())
    }
}
