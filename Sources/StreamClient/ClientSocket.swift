import Glibc

/// Blocking TCP for a command-line client: connect by name, write all, read.
/// Errors come back as messages naming the call and the errno.
enum ClientSocket {
    /// Connects to `host:port`, trying each address the name resolves to in turn.
    static func connect(host: String, port: Int) -> Result<Int32, ClientFailure> {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_protocol = Int32(IPPROTO_TCP)
        hints.ai_flags = AI_NUMERICSERV
        var list: UnsafeMutablePointer<addrinfo>? = nil
        let status = getaddrinfo(host, String(port), &hints, &list)
        guard status == 0, let first = list else {
            let reason = status == EAI_SYSTEM ? String(cString: strerror(errno)) : String(cString: gai_strerror(status))
            return .failure(ClientFailure("cannot resolve \(host): \(reason)"))
        }
        defer { freeaddrinfo(list) }
        var lastError = ECONNREFUSED
        var entry: UnsafeMutablePointer<addrinfo>? = first
        while let info = entry {
            entry = info.pointee.ai_next
            let fd = socket(info.pointee.ai_family, info.pointee.ai_socktype | Int32(SOCK_CLOEXEC.rawValue), info.pointee.ai_protocol)
            if fd < 0 {
                lastError = errno
                continue
            }
            var result: Int32
            repeat { result = Glibc.connect(fd, info.pointee.ai_addr, info.pointee.ai_addrlen) } while result < 0 && errno == EINTR
            if result == 0 {
                // Events are small and each should leave at once.
                var one: Int32 = 1
                _ = setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
                return .success(fd)
            }
            lastError = errno
            close(fd)
        }
        return .failure(ClientFailure("connect to \(host) port \(port): \(String(cString: strerror(lastError)))"))
    }

    /// Writes every byte, retrying short writes and EINTR; the errno on failure.
    static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) -> Int32? {
        guard var p = bytes.baseAddress else { return nil }
        var left = bytes.count
        while left > 0 {
            let n = write(fd, p, left)
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

/// Why one connection attempt ended, as a user reads it.
struct ClientFailure: Error {
    var message: String

    init(_ message: String) { self.message = message }
}
