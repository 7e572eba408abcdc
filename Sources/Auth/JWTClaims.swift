/// What a verified token says: who (`sub`), until when (`exp`, `nbf`), and
/// the `sse` claim: the channels it may subscribe to and publish to, and the
/// user's `info` for presence.
public struct JWTClaims: Equatable, Sendable {
    /// `sub`: the user.
    public var sub: String?
    /// `exp`, Unix seconds (a fractional one rounded down, at most
    /// `JWTVerifier.latestSeconds`): valid while now < exp.
    public var exp: Int64
    /// `nbf`, Unix seconds (a fractional one rounded up): valid from then on.
    public var nbf: Int64?
    /// `sse.subscribe`, as written.
    public var subscribe: [String] { subscribeRules.globs.map(\.pattern) }
    /// `sse.publish`, as written.
    public var publish: [String] { publishRules.globs.map(\.pattern) }
    /// `sse.info` as compact JSON text (at most 1 KiB), nil when absent or null.
    public var info: String?
    public var subscribeRules: ChannelRules
    public var publishRules: ChannelRules

    public init(sub: String?, exp: Int64, nbf: Int64?, subscribe: ChannelRules, publish: ChannelRules, info: String?) {
        self.sub = sub
        self.exp = exp
        self.nbf = nbf
        self.subscribeRules = subscribe
        self.publishRules = publish
        self.info = info
    }

    /// Whether `sse.subscribe` covers `channel`.
    public func maySubscribe(to channel: String) -> Bool { subscribeRules.matches(channel) }

    /// Whether `sse.publish` covers `channel`.
    public func mayPublish(to channel: String) -> Bool { publishRules.matches(channel) }
}
