/// Makes HS256 JWTs: for tests, the README's examples and benchmarks. The
/// server itself only verifies.
public struct JWTSigner: Sendable {
    /// The header every token it makes carries.
    public static let header = #"{"alg":"HS256","typ":"JWT"}"#

    private let hmac: HMACSHA256

    public init(key: [UInt8]) { hmac = HMACSHA256(key: key) }

    /// `header.payload.signature`, the payload being the claims' JSON text as given.
    public func sign(payload: String, header: String = JWTSigner.header) -> String {
        let signingInput = Base64URL.encode(header.utf8) + "." + Base64URL.encode(payload.utf8)
        return signingInput + "." + Base64URL.encode(hmac.authenticate(signingInput.utf8))
    }

    /// A token with these claims (`sse` present when any of its parts is).
    public func sign(
        sub: String?, exp: Int64, nbf: Int64? = nil, subscribe: [String] = [], publish: [String] = [], info: JSONValue? = nil
    ) -> String {
        sign(payload: Self.claimsJSON(sub: sub, exp: exp, nbf: nbf, subscribe: subscribe, publish: publish, info: info))
    }

    /// The payload `sign(sub:exp:...)` signs.
    public static func claimsJSON(
        sub: String?, exp: Int64, nbf: Int64? = nil, subscribe: [String] = [], publish: [String] = [], info: JSONValue? = nil
    ) -> String {
        var members: [JSONValue.Member] = []
        if let sub { members.append(.init("sub", .string(sub))) }
        members.append(.init("exp", .number(String(exp))))
        if let nbf { members.append(.init("nbf", .number(String(nbf)))) }
        var sse: [JSONValue.Member] = []
        if !subscribe.isEmpty { sse.append(.init("subscribe", .array(subscribe.map { .string($0) }))) }
        if !publish.isEmpty { sse.append(.init("publish", .array(publish.map { .string($0) }))) }
        if let info { sse.append(.init("info", info)) }
        if !sse.isEmpty { members.append(.init("sse", .object(sse))) }
        return JSONValue.object(members).compactText
    }
}
