import CShim
import Glibc

/// Where an outbound connection goes: a resolved IPv4/IPv6 address and port,
/// or a Unix socket path. Resolved once, up front, so that connecting never
/// blocks an event loop on a name lookup.
public struct SocketAddress: Sendable, CustomStringConvertible {
    private let storage: sockaddr_storage
    private let length: socklen_t
    public let description: String

    /// Looks up `host` (a name or a numeric address) and takes the first answer.
    /// This may block on DNS: call it at start-up, not on a loop.
    public static func resolve(host: String, port: Int) throws(SystemError) -> SocketAddress {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_NUMERICSERV
        var list: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(host, String(port), &hints, &list)
        guard rc == 0, let info = list else {
            throw SystemError("getaddrinfo(\(host)): \(String(cString: gai_strerror(rc)))", errno: EINVAL)
        }
        defer { freeaddrinfo(list) }
        var storage = sockaddr_storage()
        withUnsafeMutableBytes(of: &storage) { target in
            target.copyMemory(from: UnsafeRawBufferPointer(start: info.pointee.ai_addr, count: Int(info.pointee.ai_addrlen)))
        }
        let shown = host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        return SocketAddress(storage: storage, length: info.pointee.ai_addrlen, description: shown)
    }

    /// A Unix domain socket at `path` (at most 107 bytes).
    public static func unix(path: String) throws(SystemError) -> SocketAddress {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard !bytes.isEmpty, bytes.count < capacity else {
            throw SystemError("unix socket path '\(path)' (1 to \(capacity - 1) bytes)", errno: ENAMETOOLONG)
        }
        withUnsafeMutableBytes(of: &address.sun_path) { target in
            target.copyBytes(from: bytes)
        }
        var storage = sockaddr_storage()
        withUnsafeMutableBytes(of: &storage) { target in
            withUnsafeBytes(of: address) { target.copyMemory(from: $0) }
        }
        let length = socklen_t(MemoryLayout<sa_family_t>.size + bytes.count + 1)
        return SocketAddress(storage: storage, length: length, description: "unix:" + path)
    }

    public var family: Int32 { Int32(storage.ss_family) }

    /// Calls `body` with the address as `connect(2)` takes it.
    public func withSockaddr<T>(_ body: (UnsafePointer<sockaddr>, socklen_t) -> T) -> T {
        withUnsafeBytes(of: storage) { raw in
            body(raw.baseAddress!.assumingMemoryBound(to: sockaddr.self), length)
        }
    }
}
