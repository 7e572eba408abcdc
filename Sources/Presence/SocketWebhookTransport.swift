import Glibc
import HTTP

/// A small blocking HTTP/1.1 client for the webhook sender's own thread:
/// one connection per request (`Connection: close`), a connect bounded by
/// `poll`, and reads and writes bounded by `SO_RCVTIMEO`/`SO_SNDTIMEO`.
/// Only the status line matters; the body is not read.
public struct SocketWebhookTransport: WebhookTransport {
    public init() {}

    public func post(url: String, headers: [(String, String)], body: [UInt8], timeout: Double) -> Result<Int, any Error> {
        guard let target = WebhookURL(url) else { return .failure(WebhookError("webhook URL \(url) is not http://HOST[:PORT]/PATH")) }
        let fd: Int32
        switch Self.connect(target, timeout: timeout) {
        case .success(let connected): fd = connected
        case .failure(let error): return .failure(error)
        }
        defer { close(fd) }
        var request = "POST \(target.target) HTTP/1.1\r\nHost: \(target.authority)\r\nUser-Agent: sse-serve\r\n"
        for (name, value) in headers { request += "\(name): \(value)\r\n" }
        request += "Content-Length: \(body.count)\r\nConnection: close\r\n\r\n"
        let bytes = Array(request.utf8) + body
        if let error = bytes.withUnsafeBytes({ Self.writeAll(fd, $0) }) {
            return .failure(WebhookError("webhook \(url): write: \(String(cString: strerror(error)))"))
        }
        return Self.readStatus(fd, url: url)
    }

    /// Reads until the response's head is complete; its status.
    private static func readStatus(_ fd: Int32, url: String) -> Result<Int, any Error> {
        var parser = ResponseParser(method: "POST")
        var pending: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n < 0 {
                if errno == EINTR { continue }
                let reason = errno == EAGAIN || errno == EWOULDBLOCK ? "no answer in time" : String(cString: strerror(errno))
                return .failure(WebhookError("webhook \(url): read: \(reason)"))
            }
            if n == 0 { return .failure(WebhookError("webhook \(url): the connection closed before an answer")) }
            pending += buffer[0..<n]
            while true {
                let (consumed, output) = pending.withUnsafeBytes { parser.parse($0) }
                pending.removeFirst(consumed)
                switch output {
                case .head(let head): return .success(head.status)
                case .failure(let error): return .failure(WebhookError("webhook \(url): \(error.message)"))
                case .body, .end: continue
                case nil: break
                }
                if consumed == 0 { break }
            }
        }
    }

    /// Connects to the URL's host within `timeout`, then makes the socket
    /// blocking with the same timeout on every read and write.
    private static func connect(_ target: WebhookURL, timeout: Double) -> Result<Int32, any Error> {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_NUMERICSERV
        var list: UnsafeMutablePointer<addrinfo>? = nil
        let status = getaddrinfo(target.host, String(target.port), &hints, &list)
        guard status == 0, let first = list else {
            return .failure(WebhookError("webhook host \(target.host): \(String(cString: gai_strerror(status)))"))
        }
        defer { freeaddrinfo(list) }
        var lastError = ECONNREFUSED
        var entry: UnsafeMutablePointer<addrinfo>? = first
        let millis = Int32(max(1, min(timeout * 1000, 600_000)))
        while let info = entry {
            entry = info.pointee.ai_next
            let fd = socket(info.pointee.ai_family, info.pointee.ai_socktype | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
            if fd < 0 {
                lastError = errno
                continue
            }
            var rc = Glibc.connect(fd, info.pointee.ai_addr, info.pointee.ai_addrlen)
            if rc != 0 && (errno == EINPROGRESS || errno == EINTR) {
                // Non-blocking connect: wait for writability, then ask how it went.
                var poller = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                var ready: Int32
                repeat { ready = poll(&poller, 1, millis) } while ready < 0 && errno == EINTR
                if ready == 1 {
                    var error: Int32 = 0
                    var length = socklen_t(MemoryLayout<Int32>.size)
                    getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length)
                    rc = error == 0 ? 0 : -1
                    lastError = error
                } else {
                    lastError = ETIMEDOUT
                    rc = -1
                }
            } else if rc != 0 {
                lastError = errno
            }
            if rc == 0 {
                _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK)
                var interval = timeval(tv_sec: Int(timeout), tv_usec: Int((timeout - Double(Int(timeout))) * 1e6))
                if interval.tv_sec == 0 && interval.tv_usec == 0 { interval.tv_usec = 1000 }
                setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &interval, socklen_t(MemoryLayout<timeval>.size))
                setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &interval, socklen_t(MemoryLayout<timeval>.size))
                return .success(fd)
            }
            close(fd)
        }
        return .failure(WebhookError("webhook connect to \(target.host) port \(target.port): \(String(cString: strerror(lastError)))"))
    }

    /// Writes every byte; the errno on failure. MSG_NOSIGNAL: a closed peer is an error, not SIGPIPE.
    private static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) -> Int32? {
        guard var p = bytes.baseAddress else { return nil }
        var left = bytes.count
        while left > 0 {
            let n = send(fd, p, left, Int32(MSG_NOSIGNAL))
            if n < 0 {
                if errno == EINTR { continue }
                return errno
            }
            p += n
            left -= n
        }
        return nil
    }
}
