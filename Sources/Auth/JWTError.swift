/// Why a token was not accepted as a JWT; `message` is what the `401` body says.
///
/// `.notJWT` alone means the token does not have a JWT's shape at all (an
/// opaque session token, say): with `--auth` the app may still decide on it.
/// Every other case is a JWT that is refused.
public enum JWTError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Over `JWTVerifier.maxTokenBytes`.
    case tooLarge
    /// Not three dot-separated parts whose first is base64url of a JSON object.
    case notJWT(String)
    /// `alg` missing or other than `HS256` (the value, when it was a string).
    case algorithm(String?)
    /// A JWT whose header or claims are not what RFC 7519 and the contract say.
    case malformed(String)
    case badSignature
    case noExpiry
    case expired
    case notYetValid

    public var message: String {
        switch self {
        case .tooLarge: "token longer than \(JWTVerifier.maxTokenBytes) bytes"
        case .notJWT(let why): "token is not a JWT: \(why)"
        case .algorithm(let alg?): "token alg must be HS256, not \(alg)"
        case .algorithm(nil): "token alg must be HS256"
        case .malformed(let why): "token malformed: \(why)"
        case .badSignature: "token signature invalid"
        case .noExpiry: "token has no exp"
        case .expired: "token expired"
        case .notYetValid: "token not valid yet (nbf)"
        }
    }

    public var description: String { message }
}
