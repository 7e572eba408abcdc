import Glibc

/// A failed system call: the call's name and errno, e.g. `epoll_ctl(ADD): Bad file descriptor`.
public struct SystemError: Error, CustomStringConvertible, Sendable {
    public let call: String
    public let errno: Int32
    /// What went wrong when the call reports it itself (getaddrinfo's own
    /// text), said instead of errno's.
    public let detail: String?

    public init(_ call: String, errno: Int32 = Glibc.errno, detail: String? = nil) {
        self.call = call
        self.errno = errno
        self.detail = detail
    }

    public var description: String {
        "\(call): \(detail ?? String(cString: strerror(errno)))"
    }
}
