/// An HTTP response head and (optional) body, serialised in one piece.
public struct Response: Sendable {
    public var status: Int
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]

    public init(status: Int, headers: [(name: String, value: String)] = [], body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// A short text answer, as for errors: `text/plain`, the message and a newline.
    public static func text(_ status: Int, _ message: String, headers: [(name: String, value: String)] = []) -> Response {
        Response(status: status, headers: [("Content-Type", "text/plain; charset=utf-8")] + headers, body: line(message))
    }

    public static func json(_ status: Int, _ json: String, headers: [(name: String, value: String)] = []) -> Response {
        Response(status: status, headers: [("Content-Type", "application/json")] + headers, body: line(json))
    }

    /// `text` and a newline, as bytes.
    private static func line(_ text: String) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count + 1)
        bytes.append(contentsOf: text.utf8)
        bytes.append(0x0A)
        return bytes
    }

    public func header(_ name: String) -> String? {
        headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }

    /// The bytes on the wire. `Content-Length` is added unless a framing header is
    /// set; `headOnly` leaves the body out (HEAD, 304) but keeps its length.
    public func serialized(minorVersion: Int = 1, keepAlive: Bool, headOnly: Bool = false) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(128 + headers.count * 32 + (headOnly ? 0 : body.count))
        func add(_ text: String) { Self.append(text, to: &out) }
        Self.appendHead(to: &out, status: status, minorVersion: minorVersion, headers: headers)
        let framed = headers.contains { RequestHead.sameName($0.name, "Content-Length") || RequestHead.sameName($0.name, "Transfer-Encoding") }
        if !framed && status != 304 && status != 204 && status >= 200 {
            add("Content-Length: ")
            Self.appendDecimal(body.count, to: &out)
            add("\r\n")
        }
        if !keepAlive {
            add("Connection: close\r\n")
        } else if minorVersion == 0 {
            add("Connection: keep-alive\r\n")
        }
        add("\r\n")
        if !headOnly && status != 304 { out.append(contentsOf: body) }
        return out
    }

    /// A head written exactly as given, with the blank line that ends it: for
    /// heads whose framing the caller decides (an event stream, `100 Continue`).
    public static func head(status: Int, minorVersion: Int = 1, headers: [(name: String, value: String)] = []) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(64 + headers.count * 32)
        appendHead(to: &out, status: status, minorVersion: minorVersion, headers: headers)
        out.append(contentsOf: "\r\n".utf8)
        return out
    }

    /// The status line and `headers`, each line ended by CRLF: every head the server writes starts here.
    private static func appendHead(to out: inout [UInt8], status: Int, minorVersion: Int, headers: [(name: String, value: String)]) {
        func add(_ text: String) { Self.append(text, to: &out) }
        add(minorVersion >= 1 ? "HTTP/1.1 " : "HTTP/1.0 ")
        appendDecimal(status, to: &out)
        out.append(0x20)
        add(Status.reason(status))
        add("\r\n")
        for (name, value) in headers {
            add(name)
            add(": ")
            add(value)
            add("\r\n")
        }
    }
}

extension Response {
    /// `n` (≥ 0) in decimal, without making a String.
    /// `text`'s bytes, copied from its contiguous storage when it has one.
    static func append(_ text: String, to out: inout [UInt8]) {
        if text.utf8.withContiguousStorageIfAvailable({ out.append(contentsOf: $0) }) == nil {
            out.append(contentsOf: text.utf8)
        }
    }

    public static func appendDecimal(_ n: Int, to out: inout [UInt8]) {
        appendDecimal(UInt64(max(n, 0)), to: &out)
    }

    public static func appendDecimal(_ n: UInt64, to out: inout [UInt8]) {
        // Digits from the last, into a small buffer, then copied in order.
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { digits in
            var rest = n
            var start = 20
            repeat {
                start -= 1
                digits[start] = UInt8(truncatingIfNeeded: 0x30 + rest % 10)
                rest /= 10
            } while rest > 0
            out.append(contentsOf: UnsafeBufferPointer(rebasing: digits[start..<20]))
        }
    }
}

/// Reason phrases for the statuses the server sends.
public enum Status {
    public static func reason(_ code: Int) -> String {
        switch code {
        case 100: return "Continue"
        case 200: return "OK"
        case 204: return "No Content"
        case 206: return "Partial Content"
        case 301: return "Moved Permanently"
        case 304: return "Not Modified"
        case 400: return "Bad Request"
        case 401: return "Unauthorized"
        case 403: return "Forbidden"
        case 404: return "Not Found"
        case 405: return "Method Not Allowed"
        case 408: return "Request Timeout"
        case 413: return "Content Too Large"
        case 415: return "Unsupported Media Type"
        case 431: return "Request Header Fields Too Large"
        case 500: return "Internal Server Error"
        case 501: return "Not Implemented"
        case 503: return "Service Unavailable"
        case 505: return "HTTP Version Not Supported"
        default: return "Status \(code)"
        }
    }
}
