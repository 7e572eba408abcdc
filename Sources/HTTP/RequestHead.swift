/// The request line and header fields of one HTTP/1.x request.
public struct RequestHead: Sendable, Equatable {
    public var method: String
    /// The request target as sent (`/events/a?lastEventId=3`).
    public var target: String
    /// 0 for HTTP/1.0, 1 for HTTP/1.1.
    public var minorVersion: Int
    /// Field names as sent, in order; look them up with `header(_:)`.
    public var headers: [(name: String, value: String)]

    public init(method: String, target: String, minorVersion: Int = 1, headers: [(name: String, value: String)] = []) {
        self.method = method
        self.target = target
        self.minorVersion = minorVersion
        self.headers = headers
    }

    public static func == (a: RequestHead, b: RequestHead) -> Bool {
        a.method == b.method && a.target == b.target && a.minorVersion == b.minorVersion
            && a.headers.map(\.name) == b.headers.map(\.name) && a.headers.map(\.value) == b.headers.map(\.value)
    }

    /// The first value of the field `name` (case-insensitive).
    public func header(_ name: String) -> String? {
        for field in headers where Self.sameName(field.name, name) {
            return field.value
        }
        return nil
    }

    /// Every value of the field `name`, for list fields such as `Connection`.
    public func headerValues(_ name: String) -> [String] {
        headers.filter { Self.sameName($0.name, name) }.map(\.value)
    }

    /// ASCII case-insensitive comparison of field names, without allocating.
    static func sameName(_ a: String, _ b: String) -> Bool {
        guard a.utf8.count == b.utf8.count else { return false }
        var a = a
        var b = b
        return a.withUTF8 { x in b.withUTF8 { y in sameLetters(x[...], y[...]) } }
    }

    /// ASCII case-insensitive equality of two byte runs.
    private static func sameLetters(_ x: Slice<UnsafeBufferPointer<UInt8>>, _ y: Slice<UnsafeBufferPointer<UInt8>>) -> Bool {
        guard x.count == y.count else { return false }
        var j = y.startIndex
        for p in x {
            let q = y[j]
            j += 1
            if p == q { continue }
            let lower = p | 0x20
            guard lower == q | 0x20, lower >= 0x61, lower <= 0x7A else { return false }
        }
        return true
    }

    /// Whether the comma-separated list in the fields `name` holds `token`
    /// (ASCII case-insensitive, spaces around items ignored), without allocating.
    func listContains(_ name: String, token: String) -> Bool {
        var token = token
        return token.withUTF8 { wanted in
            for field in headers where Self.sameName(field.name, name) {
                var value = field.value
                let found = value.withUTF8 { bytes -> Bool in
                    var i = 0
                    while i < bytes.count {
                        var stop = i
                        while stop < bytes.count, bytes[stop] != 0x2C { stop += 1 }
                        var s = i
                        var e = stop
                        while s < e, bytes[s] == 0x20 || bytes[s] == 0x09 { s += 1 }
                        while e > s, bytes[e - 1] == 0x20 || bytes[e - 1] == 0x09 { e -= 1 }
                        if Self.sameLetters(bytes[s..<e], wanted[...]) { return true }
                        i = stop + 1
                    }
                    return false
                }
                if found { return true }
            }
            return false
        }
    }

    /// The path part of the target, before `?`, still percent-encoded.
    public var rawPath: Substring {
        queryMark.map { target[..<$0] } ?? target[...]
    }

    /// The query part of the target, after `?`.
    public var rawQuery: Substring? {
        queryMark.map { target[target.utf8.index(after: $0)...] }
    }

    /// Where the target's `?` is, looked up as a byte on the target's bytes (a
    /// Character search would break graphemes for nothing).
    private var queryMark: String.Index? {
        var bytes = target
        guard let offset = bytes.withUTF8({ $0.firstIndex(of: 0x3F) }) else { return nil }
        return target.utf8.index(target.utf8.startIndex, offsetBy: offset)
    }

    /// True when the connection stays open after the response (HTTP/1.1 default,
    /// HTTP/1.0 only with `Connection: keep-alive`).
    public var keepAlive: Bool {
        if listContains("Connection", token: "close") { return false }
        return minorVersion >= 1 || listContains("Connection", token: "keep-alive")
    }

    /// True when the client accepts `coding` (e.g. gzip) with a non-zero q.
    public func accepts(encoding coding: String) -> Bool {
        guard let value = header("Accept-Encoding") else { return false }
        for part in value.split(separator: ",") {
            let pieces = part.split(separator: ";")
            guard let name = pieces.first?.trimmingSpaces().lowercased(), name == coding || name == "*" else { continue }
            if let q = pieces.dropFirst().first(where: { $0.trimmingSpaces().hasPrefix("q=") }),
                let weight = Double(q.trimmingSpaces().dropFirst(2)), weight == 0
            {
                return false
            }
            return true
        }
        return false
    }
}

extension StringProtocol {
    /// The text without leading and trailing spaces and tabs.
    @inlinable
    public func trimmingSpaces() -> String {
        var s = Substring(self)
        while let c = s.first, c == " " || c == "\t" { s.removeFirst() }
        while let c = s.last, c == " " || c == "\t" { s.removeLast() }
        return String(s)
    }
}
