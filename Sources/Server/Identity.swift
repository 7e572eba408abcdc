/// Who a request is from, as an authorization step decided it: the user
/// (JWT `sub`, the app's `SSE-User`), what the app says of them, and until
/// when the decision holds.
public struct Identity: Sendable, Equatable {
    public var user: String?
    /// JSON text (`SSE-User-Info`, the JWT's `sse.info`).
    public var info: String?
    /// Wall-clock milliseconds after which a stream must be authorized again.
    public var expiresAtMillis: UInt64?

    public init(user: String? = nil, info: String? = nil, expiresAtMillis: UInt64? = nil) {
        self.user = user
        self.info = info
        self.expiresAtMillis = expiresAtMillis
    }

    /// Nobody in particular: a public channel, or no access control.
    public static let anonymous = Identity()
}
