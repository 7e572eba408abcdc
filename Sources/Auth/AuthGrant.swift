/// What the app allowed in a `2xx` answer to the auth callback.
public struct AuthGrant: Equatable, Sendable {
    /// The channels allowed: those asked, or the subset `SSE-Channels` named, in the order asked.
    public var channels: [String]
    /// `SSE-User`.
    public var user: String?
    /// `SSE-User-Info` as compact JSON text (at most 1 KiB).
    public var info: String?
    /// `SSE-Expires-In`: the stream ends (with `sse-reauth`) this many seconds after the answer.
    public var expiresIn: Int?
    /// From `Cache-Control: max-age=N`, at most 60 and at most `expiresIn`;
    /// 0 when absent, `no-store` or `no-cache`. The same credentials and
    /// channels are allowed again for this long without asking.
    public var cacheSeconds: Int

    public init(channels: [String], user: String? = nil, info: String? = nil, expiresIn: Int? = nil, cacheSeconds: Int = 0) {
        self.channels = channels
        self.user = user
        self.info = info
        self.expiresIn = expiresIn
        self.cacheSeconds = cacheSeconds
    }
}
