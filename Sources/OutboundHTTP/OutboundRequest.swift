import HTTP

/// One request to send with `HTTPClient`: method, URL, headers, an optional
/// body, and the limits it is held to.
public struct OutboundRequest: Sendable {
    public var method: String
    public var url: HTTPURL
    /// Sent as given, after `Host`; `Content-Length` is added for a body, and
    /// `User-Agent: sse-serve` unless one is given. Names and values must not
    /// contain CR, LF or NUL (the request is refused, never sent split).
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]?
    /// The whole exchange must be over by then (connect, send, the complete
    /// response); for `stream`, until the response head has arrived.
    public var timeoutNanos: UInt64
    /// The most body bytes accepted; a longer response fails with `.bodyTooLarge`.
    /// Not applied by `stream`, which hands bytes on as they come.
    public var maxBodyBytes: Int

    public init(
        method: String = "GET", url: HTTPURL, headers: [(name: String, value: String)] = [], body: [UInt8]? = nil,
        timeoutNanos: UInt64 = 10_000_000_000, maxBodyBytes: Int = 1 << 20
    ) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.timeoutNanos = timeoutNanos
        self.maxBodyBytes = maxBodyBytes
    }

    /// The bytes on the wire, or why they cannot be sent.
    func serialized() -> Result<[UInt8], OutboundError> {
        guard !method.isEmpty, method.utf8.allSatisfy(Self.isTokenByte) else {
            return .failure(OutboundError(.invalidRequest, "\(url): invalid method '\(method)'"))
        }
        var text = "\(method) \(url.target) HTTP/1.1\r\nHost: \(url.hostHeader)\r\n"
        var hasAgent = false
        for (name, value) in headers {
            guard !name.isEmpty, name.utf8.allSatisfy(Self.isTokenByte) else {
                return .failure(OutboundError(.invalidRequest, "\(url): invalid header name '\(name)'"))
            }
            guard !value.utf8.contains(where: { $0 == 0x0D || $0 == 0x0A || $0 == 0x00 }) else {
                return .failure(OutboundError(.invalidRequest, "\(url): the value of header \(name) contains CR, LF or NUL"))
            }
            let lower = name.lowercased()
            // Framing and routing are ours to say.
            if lower == "host" || lower == "content-length" || lower == "transfer-encoding" { continue }
            if lower == "user-agent" { hasAgent = true }
            text += "\(name): \(value)\r\n"
        }
        if !hasAgent { text += "User-Agent: sse-serve\r\n" }
        if let body {
            text += "Content-Length: \(body.count)\r\n"
        } else if ["POST", "PUT", "PATCH"].contains(method) {
            text += "Content-Length: 0\r\n"
        }
        text += "\r\n"
        var bytes = Array(text.utf8)
        if let body { bytes += body }
        return .success(bytes)
    }

    /// RFC 9110 token characters, for methods and field names.
    private static func isTokenByte(_ b: UInt8) -> Bool {
        switch b {
        case 0x30...0x39, 0x41...0x5A, 0x61...0x7A: return true
        default: return "!#$%&'*+-.^_`|~".utf8.contains(b)
        }
    }
}
