/// The status line and header fields of one HTTP/1.x response, and how its body is delimited.
public struct ResponseHead: Sendable, Equatable {
    /// How the body of a response ends (RFC 9112 §6.3), decided by the parser from the head.
    public enum BodyFraming: Sendable, Equatable {
        /// No body: a response to HEAD, a 1xx, 204 or 304.
        case none
        /// Exactly this many bytes (`Content-Length`).
        case length(UInt64)
        /// `Transfer-Encoding: chunked`.
        case chunked
        /// Everything until the server closes the connection.
        case untilClose
    }

    public var status: Int
    /// The reason phrase as sent; it may be empty and means nothing to a client.
    public var reason: String
    /// 0 for HTTP/1.0, 1 for HTTP/1.1 (and later 1.x).
    public var minorVersion: Int
    /// Field names as sent, in order; look them up with `header(_:)`.
    public var headers: [(name: String, value: String)]
    public var framing: BodyFraming

    public init(
        status: Int, reason: String = "", minorVersion: Int = 1, headers: [(name: String, value: String)] = [],
        framing: BodyFraming = .none
    ) {
        self.status = status
        self.reason = reason
        self.minorVersion = minorVersion
        self.headers = headers
        self.framing = framing
    }

    public static func == (a: ResponseHead, b: ResponseHead) -> Bool {
        a.status == b.status && a.reason == b.reason && a.minorVersion == b.minorVersion && a.framing == b.framing
            && a.headers.map(\.name) == b.headers.map(\.name) && a.headers.map(\.value) == b.headers.map(\.value)
    }

    /// The first value of the field `name` (case-insensitive).
    public func header(_ name: String) -> String? {
        for field in headers where RequestHead.sameName(field.name, name) {
            return field.value
        }
        return nil
    }

    /// Every value of the field `name`, for list fields such as `Connection`.
    public func headerValues(_ name: String) -> [String] {
        headers.filter { RequestHead.sameName($0.name, name) }.map(\.value)
    }

    /// The `Content-Type` without its parameters, in lower case (`text/event-stream`), or nil.
    public var mediaType: String? {
        guard let value = header("Content-Type") else { return nil }
        let type = value.split(separator: ";", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        return type.trimmingSpaces().lowercased()
    }

    /// True when the connection may carry another request after this response:
    /// HTTP/1.1 without `Connection: close`, or HTTP/1.0 with `Connection: keep-alive`,
    /// and a body that does not end with the connection.
    public var keepAlive: Bool {
        if framing == .untilClose { return false }
        let tokens = headerValues("Connection").flatMap { $0.split(separator: ",") }
            .map { $0.trimmingSpaces().lowercased() }
        if tokens.contains("close") { return false }
        return minorVersion >= 1 || tokens.contains("keep-alive")
    }
}
