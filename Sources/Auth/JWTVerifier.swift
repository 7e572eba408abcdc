/// Checks JWTs (RFC 7519) signed with HS256 under one key, as `--jwt-key` asks.
///
/// Only `HS256` is accepted: `none`, `HS384`/`HS512` and every public-key
/// `alg` are refused, so a token cannot pick a weaker check or have the key
/// used as an RSA "public key" (alg confusion). `exp` is required. Times are
/// compared with no leeway: the caller passes `nowSeconds` (Unix time), and
/// a token is valid while `nbf <= now < exp`. `aud`, `iss` and `jti` are not
/// checked. The payload is read only after its signature matched.
public struct JWTVerifier: Sendable {
    /// Larger tokens are refused before any work (a header line is 16 KiB at most anyway).
    public static let maxTokenBytes = 8192
    /// `sse.info` as compact JSON, like `SSE-User-Info`.
    public static let maxInfoBytes = 1024

    private let hmac: HMACSHA256
    private let hasKey: Bool

    /// `key` is used as given (the bytes of `--jwt-key`). With an empty key no token verifies.
    public init(key: [UInt8]) {
        hmac = HMACSHA256(key: key)
        hasKey = !key.isEmpty
    }

    /// The claims of `token` when it is a valid HS256 JWT at `nowSeconds`.
    public func verify(_ token: String, nowSeconds: Int64) -> Result<JWTClaims, JWTError> {
        var token = token
        return token.withUTF8 { verify(bytes: $0, nowSeconds: nowSeconds) }
    }

    private func verify(bytes: UnsafeBufferPointer<UInt8>, nowSeconds: Int64) -> Result<JWTClaims, JWTError> {
        guard bytes.count <= Self.maxTokenBytes else { return .failure(.tooLarge) }
        var dots: (Int, Int) = (-1, -1)
        for i in 0..<bytes.count where bytes[i] == UInt8(ascii: ".") {
            if dots.0 < 0 {
                dots.0 = i
            } else if dots.1 < 0 {
                dots.1 = i
            } else {
                return .failure(.notJWT("not three dot-separated parts"))
            }
        }
        guard dots.1 >= 0 else { return .failure(.notJWT("not three dot-separated parts")) }
        let headerPart = UnsafeBufferPointer(rebasing: bytes[..<dots.0])
        let payloadPart = UnsafeBufferPointer(rebasing: bytes[(dots.0 + 1)..<dots.1])
        let signaturePart = UnsafeBufferPointer(rebasing: bytes[(dots.1 + 1)...])

        guard let headerBytes = Base64URL.decode(headerPart, allowPadding: false) else {
            return .failure(.notJWT("header is not base64url"))
        }
        guard case .success(let header) = JSONValue.parse(headerBytes), header.isObject else {
            return .failure(.notJWT("header is not a JSON object"))
        }
        switch header["alg"] {
        case .string("HS256")?: break
        case .string(let other)?: return .failure(.algorithm(other))
        default: return .failure(.algorithm(nil))
        }
        // RFC 7515 §4.1.11: extensions named critical must be understood; we know none.
        if header["crit"] != nil { return .failure(.malformed("header names crit extensions")) }

        guard let signature = Base64URL.decode(signaturePart, allowPadding: false), signature.count == 32 else {
            return .failure(.badSignature)
        }
        let expected = hmac.authenticate(UnsafeBufferPointer(rebasing: bytes[..<dots.1]))
        guard hasKey, ConstantTime.equals(signature, expected) else { return .failure(.badSignature) }

        guard let payloadBytes = Base64URL.decode(payloadPart, allowPadding: false) else {
            return .failure(.malformed("payload is not base64url"))
        }
        let payload: JSONValue
        switch JSONValue.parse(payloadBytes) {
        case .success(let value) where value.isObject: payload = value
        case .success: return .failure(.malformed("payload is not a JSON object"))
        case .failure(let error): return .failure(.malformed("payload is not JSON (\(error))"))
        }
        return Self.claims(payload, nowSeconds: nowSeconds)
    }

    /// The claims of a signed payload, refused when expired, not yet valid or ill-typed.
    static func claims(_ payload: JSONValue, nowSeconds: Int64) -> Result<JWTClaims, JWTError> {
        guard let expValue = payload["exp"] else { return .failure(.noExpiry) }
        guard let expSeconds = expValue.doubleValue, expSeconds.isFinite else { return .failure(.malformed("exp is not a number")) }
        let exp = seconds(expSeconds.rounded(.down))
        guard nowSeconds < exp else { return .failure(.expired) }
        var nbf: Int64? = nil
        if let nbfValue = payload["nbf"] {
            guard let nbfSeconds = nbfValue.doubleValue, nbfSeconds.isFinite else { return .failure(.malformed("nbf is not a number")) }
            nbf = seconds(nbfSeconds.rounded(.up))
            if let nbf, nowSeconds < nbf { return .failure(.notYetValid) }
        }
        var sub: String? = nil
        if let subValue = payload["sub"] {
            guard let s = subValue.stringValue else { return .failure(.malformed("sub is not a string")) }
            sub = s
        }
        var subscribe = ChannelRules.nothing
        var publish = ChannelRules.nothing
        var info: String? = nil
        if let sse = payload["sse"] {
            guard sse.isObject else { return .failure(.malformed("sse is not an object")) }
            switch (rules(sse["subscribe"], "sse.subscribe"), rules(sse["publish"], "sse.publish")) {
            case (.success(let s), .success(let p)):
                subscribe = s
                publish = p
            case (.failure(let error), _), (_, .failure(let error)):
                return .failure(error)
            }
            if let value = sse["info"], value != .null {
                let text = value.compactText
                guard text.utf8.count <= maxInfoBytes else { return .failure(.malformed("sse.info over \(maxInfoBytes) bytes")) }
                info = text
            }
        }
        return .success(JWTClaims(sub: sub, exp: exp, nbf: nbf, subscribe: subscribe, publish: publish, info: info))
    }

    private static func rules(_ value: JSONValue?, _ name: String) -> Result<ChannelRules, JWTError> {
        guard let value else { return .success(.nothing) }
        guard let items = value.arrayValue else { return .failure(.malformed("\(name) is not an array")) }
        var patterns: [String] = []
        for item in items {
            guard let pattern = item.stringValue else { return .failure(.malformed("\(name) holds a non-string")) }
            patterns.append(pattern)
        }
        switch ChannelRules.parse(patterns) {
        case .success(let rules): return .success(rules)
        case .failure(let error): return .failure(.malformed("\(name): \(error.message)"))
        }
    }

    /// The end of year 9999: later times are clamped to it, so `exp * 1000`
    /// (milliseconds) cannot overflow for a caller.
    public static let latestSeconds: Int64 = 253_402_300_799

    /// A whole number of seconds as Int64, clamped to ±`latestSeconds` (1e300 is "never").
    private static func seconds(_ value: Double) -> Int64 {
        if value >= Double(latestSeconds) { return latestSeconds }
        if value <= -Double(latestSeconds) { return -latestSeconds }
        return Int64(value)
    }
}
