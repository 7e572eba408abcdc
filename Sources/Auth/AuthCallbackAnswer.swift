/// The app's answer to the auth callback (`--auth URL`), interpreted: a
/// grant, a refusal to pass on to the client, or no usable answer (which is
/// never taken as allowed).
public enum AuthCallbackAnswer: Equatable, Sendable {
    /// `2xx` with well-formed headers.
    case allowed(AuthGrant)
    /// `401` or `403`: the client gets this status, body and `WWW-Authenticate`.
    case denied(status: Int, body: [UInt8], wwwAuthenticate: String?)
    /// Any other status, or a `2xx` whose headers break the contract; also
    /// what the caller uses for a timeout or an unreachable app.
    case unavailable(reason: String)

    public static let maxInfoBytes = 1024
    public static let maxBodyBytes = 4096
    public static let maxCacheSeconds = 60

    /// Interprets an answer: `status`, its header fields (names in any case),
    /// its `body`, for a request that asked for `channels`.
    public static func interpret(
        status: Int, headers: [(name: String, value: String)], body: [UInt8], asked channels: [String]
    ) -> AuthCallbackAnswer {
        switch status {
        case 200...299:
            return grant(headers, asked: channels)
        case 401, 403:
            return .denied(
                status: status, body: Array(body.prefix(maxBodyBytes)),
                wwwAuthenticate: values("WWW-Authenticate", in: headers).first)
        default:
            return .unavailable(reason: "auth callback answered \(status)")
        }
    }

    private static func grant(_ headers: [(name: String, value: String)], asked: [String]) -> AuthCallbackAnswer {
        var grant = AuthGrant(channels: asked)

        let listed = values("SSE-Channels", in: headers)
        if !listed.isEmpty {
            var named = Set<Substring>()
            for value in listed {
                for item in value.split(separator: ",") {
                    let channel = trimmed(item)
                    if channel.isEmpty { continue }
                    guard asked.contains(where: { $0 == channel }) else {
                        return .unavailable(reason: "auth callback's SSE-Channels names \"\(channel)\", which was not asked")
                    }
                    named.insert(channel)
                }
            }
            grant.channels = asked.filter { named.contains(Substring($0)) }
        }

        switch single("SSE-User", in: headers) {
        case .failure(let malformed): return .unavailable(reason: malformed.reason)
        case .success(let user?):
            let user = String(trimmed(Substring(user)))
            grant.user = user.isEmpty ? nil : user
        case .success(nil): break
        }

        switch single("SSE-User-Info", in: headers) {
        case .failure(let malformed): return .unavailable(reason: malformed.reason)
        case .success(let info?):
            guard info.utf8.count <= maxInfoBytes else {
                return .unavailable(reason: "auth callback's SSE-User-Info is over \(maxInfoBytes) bytes")
            }
            switch JSONValue.parse(info) {
            case .success(let value): grant.info = value.compactText
            case .failure(let error): return .unavailable(reason: "auth callback's SSE-User-Info is not JSON (\(error))")
            }
        case .success(nil): break
        }

        switch single("SSE-Expires-In", in: headers) {
        case .failure(let malformed): return .unavailable(reason: malformed.reason)
        case .success(let text?):
            let digits = trimmed(Substring(text))
            guard !digits.isEmpty, digits.utf8.count <= 9, digits.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
                let seconds = Int(digits), seconds > 0
            else { return .unavailable(reason: "auth callback's SSE-Expires-In \"\(text)\" is not a positive number of seconds") }
            grant.expiresIn = seconds
        case .success(nil): break
        }

        grant.cacheSeconds = cacheSeconds(values("Cache-Control", in: headers))
        if let expiresIn = grant.expiresIn { grant.cacheSeconds = min(grant.cacheSeconds, expiresIn) }
        return .allowed(grant)
    }

    /// `max-age` of the `Cache-Control` fields, capped; 0 when absent,
    /// malformed, or beside `no-store` or `no-cache`.
    static func cacheSeconds(_ fields: [String]) -> Int {
        var maxAge: Int? = nil
        for field in fields {
            for directive in field.split(separator: ",") {
                let directive = trimmed(directive)
                let parts = directive.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                let name = trimmed(parts[0]).lowercased()
                if name == "no-store" || name == "no-cache" { return 0 }
                guard name == "max-age", parts.count == 2 else { continue }
                var value = trimmed(parts[1])
                if value.count >= 2, value.first == "\"", value.last == "\"" { value = value.dropFirst().dropLast() }
                guard !value.isEmpty, value.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { continue }
                // A huge number of digits is just "long".
                let seconds = value.utf8.count > 9 ? maxCacheSeconds : Int(value) ?? 0
                if maxAge == nil { maxAge = seconds }
            }
        }
        return min(maxAge ?? 0, maxCacheSeconds)
    }

    /// Every value of the field `name`, in order.
    static func values(_ name: String, in headers: [(name: String, value: String)]) -> [String] {
        headers.filter { equalsIgnoringCase($0.name, name) }.map(\.value)
    }

    /// The value of a field that may appear once at most.
    private static func single(_ name: String, in headers: [(name: String, value: String)]) -> Result<String?, Malformed> {
        let all = values(name, in: headers)
        guard all.count <= 1 else { return .failure(Malformed(reason: "auth callback sent \(name) \(all.count) times")) }
        return .success(all.first)
    }

    /// A header the contract forbids, with the reason for `.unavailable`.
    struct Malformed: Error {
        let reason: String
    }

    private static func equalsIgnoringCase(_ a: String, _ b: String) -> Bool {
        a.utf8.count == b.utf8.count && zip(a.utf8, b.utf8).allSatisfy { x, y in
            x == y || (x | 0x20 == y | 0x20 && (x | 0x20) >= 0x61 && (x | 0x20) <= 0x7A)
        }
    }

    private static func trimmed(_ text: Substring) -> Substring {
        var text = text
        while let c = text.first, c == " " || c == "\t" { text = text.dropFirst() }
        while let c = text.last, c == " " || c == "\t" { text = text.dropLast() }
        return text
    }
}
