/// Where a Redis server is and how to log in: `redis://[[USER]:PASSWORD@]HOST[:PORT][/DB]`
/// or `unix:///PATH/redis.sock[?db=N]`.
public struct RedisURL: Equatable, Sendable, CustomStringConvertible {
    /// A TCP host and port, or a unix socket's path.
    public enum Endpoint: Equatable, Sendable {
        /// `host` is a name or an address; an IPv6 address without its brackets.
        case tcp(host: String, port: Int)
        case unix(path: String)
    }

    public var endpoint: Endpoint
    /// For `AUTH USER PASSWORD` (Redis 6 ACLs); nil means the default user.
    public var user: String?
    public var password: String?
    /// For `SELECT`.
    public var database: Int

    public static let defaultPort = 6379
    /// `sun_path` holds 108 bytes with the terminating NUL.
    public static let maxSocketPath = 107

    public init(endpoint: Endpoint, user: String? = nil, password: String? = nil, database: Int = 0) {
        self.endpoint = endpoint
        self.user = user
        self.password = password
        self.database = database
    }

    /// Reads a URL as given to `--redis`; the error says what is wrong with it.
    public init(parsing text: String) throws(RedisURLError) {
        func fail(_ reason: String) -> RedisURLError { RedisURLError(url: text, reason: reason) }
        let lowered = text.lowercased()
        if lowered.hasPrefix("unix://") {
            var rest = Substring(text.dropFirst("unix://".count))
            var database = 0
            if let question = rest.firstIndex(of: "?") {
                let query = rest[rest.index(after: question)...]
                rest = rest[..<question]
                for pair in query.split(separator: "&") {
                    guard pair.hasPrefix("db=") else { throw fail("unknown parameter \"\(pair)\" (only db=N)") }
                    database = try Self.database(pair.dropFirst(3), fail)
                }
            }
            guard rest.hasPrefix("/"), rest.count > 1 else { throw fail("the socket path must be absolute, as in unix:///run/redis.sock") }
            guard rest.utf8.count <= Self.maxSocketPath else { throw fail("the socket path is longer than \(Self.maxSocketPath) bytes") }
            guard !rest.utf8.contains(0) else { throw fail("the socket path holds a NUL byte") }
            self.init(endpoint: .unix(path: String(rest)), database: database)
            return
        }
        if lowered.hasPrefix("rediss://") { throw fail("TLS (rediss://) is not supported") }
        guard lowered.hasPrefix("redis://") else { throw fail("unknown scheme") }
        var rest = Substring(text.dropFirst("redis://".count))
        guard !rest.contains("?"), !rest.contains("#") else { throw fail("a query or fragment is not allowed here") }
        var database = 0
        if let slash = rest.firstIndex(of: "/") {
            let path = rest[rest.index(after: slash)...]
            rest = rest[..<slash]
            if !path.isEmpty { database = try Self.database(path, fail) }
        }
        var user: String? = nil
        var password: String? = nil
        if let at = rest.lastIndex(of: "@") {
            let info = rest[..<at]
            rest = rest[rest.index(after: at)...]
            guard let colon = info.firstIndex(of: ":") else { throw fail("expected [USER]:PASSWORD before @") }
            let rawUser = info[..<colon]
            guard let decodedUser = Self.percentDecode(rawUser), let decodedPassword = Self.percentDecode(info[info.index(after: colon)...]) else {
                throw fail("bad %-escape in the user or password")
            }
            user = rawUser.isEmpty ? nil : decodedUser
            password = decodedPassword
        }
        var host: Substring
        var port = Self.defaultPort
        if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]") else { throw fail("an IPv6 address needs its closing ]") }
            host = rest[rest.index(after: rest.startIndex)..<close]
            let after = rest[rest.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { throw fail("expected :PORT after the IPv6 address") }
                port = try Self.port(after.dropFirst(), fail)
            }
            guard !host.isEmpty, host.allSatisfy({ $0.isHexDigit || $0 == ":" || $0 == "." }) else { throw fail("bad IPv6 address") }
        } else {
            host = rest
            if let colon = rest.lastIndex(of: ":") {
                host = rest[..<colon]
                port = try Self.port(rest[rest.index(after: colon)...], fail)
                guard !host.contains(":") else { throw fail("an IPv6 address must be in brackets, as in redis://[::1]:6379") }
            }
            guard !host.isEmpty else { throw fail("no host") }
            guard host.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "%") }) else { throw fail("bad character in the host") }
        }
        self.init(endpoint: .tcp(host: String(host), port: port), user: user, password: password, database: database)
    }

    private static func port(_ text: Substring, _ fail: (String) -> RedisURLError) throws(RedisURLError) -> Int {
        guard !text.isEmpty, text.count <= 5, text.allSatisfy(\.isASCII), let port = Int(text), port >= 1, port <= 65535 else {
            throw fail("the port must be a number from 1 to 65535")
        }
        return port
    }

    private static func database(_ text: Substring, _ fail: (String) -> RedisURLError) throws(RedisURLError) -> Int {
        guard !text.isEmpty, text.count <= 9, text.allSatisfy({ $0.isASCII && $0.isNumber }), let database = Int(text) else {
            throw fail("the database must be a number, as in /0")
        }
        return database
    }

    /// `%XX` escapes decoded; nil for a broken escape or bytes that are not UTF-8.
    static func percentDecode(_ text: Substring) -> String? {
        var bytes: [UInt8] = []
        var iterator = text.utf8.makeIterator()
        while let byte = iterator.next() {
            guard byte == UInt8(ascii: "%") else {
                bytes.append(byte)
                continue
            }
            guard let high = iterator.next().flatMap(hexValue), let low = iterator.next().flatMap(hexValue) else { return nil }
            bytes.append(high << 4 | low)
        }
        return String(validating: bytes, as: UTF8.self)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        default: return nil
        }
    }

    /// The URL with the password hidden, for logs and `/readyz`.
    public var description: String {
        let login = password == nil ? "" : "\(user ?? ""):***@"
        switch endpoint {
        case .unix(let path): return "unix://\(path)" + (database == 0 ? "" : "?db=\(database)")
        case .tcp(let host, let port):
            let shownHost = host.contains(":") ? "[\(host)]" : host
            return "redis://\(login)\(shownHost):\(port)" + (database == 0 ? "" : "/\(database)")
        }
    }
}

/// A `--redis` URL that cannot be used, and why.
public struct RedisURLError: Error, Equatable, Sendable, CustomStringConvertible {
    public let url: String
    public let reason: String

    public var description: String {
        "--redis: expected redis://[[USER]:PASSWORD@]HOST[:PORT][/DB] or unix:///PATH[?db=N], got \"\(url)\": \(reason)"
    }
}
