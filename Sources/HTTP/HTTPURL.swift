/// An `http://` URL taken apart for a plain TCP client: where to connect and what
/// to ask for. Shared by `sse-cat`, the outbound client (auth callback, webhooks)
/// and the `sse:` relay source, so each says the same about a bad URL.
public struct HTTPURL: Equatable, Hashable, Sendable, CustomStringConvertible {
    /// A host name, an IPv4 address, or an IPv6 address without its brackets.
    public var host: String
    public var port: Int
    /// The request target: the path and query (`/events/news?last=5`), never empty.
    public var target: String

    public init(host: String, port: Int = 80, target: String = "/") {
        self.host = host
        self.port = port
        self.target = target
    }

    /// The `Host` header: brackets around an IPv6 address, the port unless it is 80.
    public var hostHeader: String {
        let name = host.contains(":") ? "[\(host.replacingPercent())]" : host
        return port == 80 ? name : "\(name):\(port)"
    }

    /// The URL again, `http://HOST[:PORT]/PATH?QUERY` (for logs and messages).
    public var description: String { "http://" + hostHeader + target }

    /// The path without the query (`/events/news`).
    public var path: Substring { target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first ?? "/" }

    /// Reads `http://HOST[:PORT][/PATH][?QUERY]`; a fragment is dropped. IPv6
    /// addresses go in brackets (a zone as `%25eth0`). `https://` is refused with
    /// a message saying how to reach such a server: there is no TLS built in.
    public static func parse(_ text: String) throws(HTTPURLError) -> HTTPURL {
        let lower = text.lowercased()
        if lower.hasPrefix("https://") {
            throw HTTPURLError(
                "\(text): https is not supported: there is no TLS built in; run a local TLS proxy "
                    + "(stunnel, nginx or caddy on localhost) in front of the server and give its http:// URL")
        }
        guard lower.hasPrefix("http://") else {
            throw HTTPURLError("\(text): not an http:// URL")
        }
        var rest = Substring(text.dropFirst("http://".count))
        if let hash = rest.firstIndex(of: "#") { rest = rest[..<hash] }  // a fragment is never sent
        guard !rest.unicodeScalars.contains(where: { $0.value <= 0x20 || $0.value == 0x7F || $0.value > 0x7E }) else {
            throw HTTPURLError("\(text): the URL contains a space, control or non-ASCII character (percent-encode it)")
        }
        let authorityEnd = rest.firstIndex(where: { $0 == "/" || $0 == "?" }) ?? rest.endIndex
        let authority = rest[..<authorityEnd]
        var target = String(rest[authorityEnd...])
        if target.isEmpty || target.hasPrefix("?") { target = "/" + target }
        guard !authority.contains("@") else {
            throw HTTPURLError("\(text): user names in URLs are not supported; send credentials in an Authorization header instead")
        }
        var host: Substring
        var portText: Substring? = nil
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { throw HTTPURLError("\(text): unclosed [ in the host") }
            host = authority[authority.index(after: authority.startIndex)..<close]
            let after = authority[authority.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { throw HTTPURLError("\(text): unexpected text after the IPv6 address") }
                portText = after.dropFirst()
            }
            // A zone (RFC 6874) is written `%25eth0` in a URL and given as `%eth0` to getaddrinfo.
            var zone: Substring? = nil
            if let percent = host.firstIndex(of: "%") {
                var z = host[host.index(after: percent)...]
                if z.hasPrefix("25") { z = z.dropFirst(2) }
                zone = z
                host = host[..<percent]
            }
            guard !host.isEmpty, host.contains(":"), host.allSatisfy({ $0.isHexDigit || $0 == ":" || $0 == "." }),
                zone.map({ !$0.isEmpty && $0.allSatisfy { $0.isLetter || $0.isNumber || "._~-".contains($0) } }) ?? true
            else {
                throw HTTPURLError("\(text): malformed IPv6 address '\(authority)'")
            }
            if let zone { host = Substring(host + "%" + zone) }
        } else {
            if let colon = authority.lastIndex(of: ":") {
                host = authority[..<colon]
                portText = authority[authority.index(after: colon)...]
            } else {
                host = authority
            }
            guard !host.isEmpty else { throw HTTPURLError("\(text): no host name") }
            guard host.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "." || $0 == "-" || $0 == "_" || $0 == "~" || $0 == "%" }) else {
                throw HTTPURLError("\(text): malformed host name '\(host)'")
            }
        }
        var port = 80
        if let portText {
            guard !portText.isEmpty, portText.count <= 5, portText.allSatisfy({ $0.isASCII && $0.isNumber }), let value = Int(portText),
                value >= 1, value <= 65535
            else { throw HTTPURLError("\(text): the port must be a number from 1 to 65535") }
            port = value
        }
        return HTTPURL(host: String(host), port: port, target: target)
    }
}

extension String {
    /// `%` written as `%25`, as a URL (and so a Host header) spells an IPv6 zone.
    fileprivate func replacingPercent() -> String {
        var out = ""
        for c in self { out += c == "%" ? "%25" : String(c) }
        return out
    }
}
