/// Where a request's token was found. `find` looks in the contract's order:
/// `Authorization: Bearer T`, else the cookie `sse_token`, else `?token=T`.
public enum CredentialSource: String, Sendable, Equatable {
    case authorization
    case cookie
    case query

    /// The cookie a page's server sets for EventSource, which cannot send headers.
    public static let cookieName = "sse_token"

    /// The token and where it came from; nil when none of the three holds one.
    /// `authorization` and `cookie` are the header values, `queryToken` the
    /// already percent-decoded `token` query parameter. An `Authorization`
    /// of another scheme (`Basic`) or an empty value is passed over, so the
    /// next place is looked at.
    public static func find(authorization: String?, cookie: String?, queryToken: String?) -> (token: String, source: CredentialSource)? {
        if let authorization, let token = bearerToken(authorization) { return (token, .authorization) }
        if let cookie, let token = cookieValue(named: cookieName, in: cookie), !token.isEmpty { return (token, .cookie) }
        if let queryToken, !queryToken.isEmpty { return (queryToken, .query) }
        return nil
    }

    /// The token of `Bearer T` (RFC 6750 §2.1; the scheme in any case), or nil
    /// for another scheme, no token, or a token with white space inside.
    public static func bearerToken(_ authorization: String) -> String? {
        let value = trimmed(Array(authorization.utf8)[...])
        guard value.count > 7, value.prefix(6).map({ $0 | 0x20 }).elementsEqual("bearer".utf8),
            value[value.startIndex + 6] == 0x20 || value[value.startIndex + 6] == 0x09
        else { return nil }
        let token = trimmed(value.dropFirst(7))
        guard !token.isEmpty, !token.contains(where: { $0 == 0x20 || $0 == 0x09 }) else { return nil }
        return String(decoding: token, as: UTF8.self)
    }

    /// The value of the first cookie `name` in a `Cookie` header (RFC 6265
    /// §5.4: pairs split on `;`, white space around names and values ignored),
    /// with surrounding double quotes removed; nil when there is none.
    public static func cookieValue(named name: String, in header: String) -> String? {
        let bytes = Array(header.utf8)
        for pair in bytes.split(separator: 0x3B, omittingEmptySubsequences: true) {
            guard let equals = pair.firstIndex(of: 0x3D) else { continue }
            guard trimmed(pair[..<equals]).elementsEqual(name.utf8) else { continue }
            var value = trimmed(pair[(equals + 1)...])
            if value.count >= 2, value.first == 0x22, value.last == 0x22 { value = value.dropFirst().dropLast() }
            return String(decoding: value, as: UTF8.self)
        }
        return nil
    }

    private static func trimmed(_ text: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
        var text = text
        while let c = text.first, c == 0x20 || c == 0x09 { text = text.dropFirst() }
        while let c = text.last, c == 0x20 || c == 0x09 { text = text.dropLast() }
        return text
    }
}
