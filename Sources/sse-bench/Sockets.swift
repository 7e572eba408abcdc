import CShim
import Glibc

/// Non-blocking TCP sockets to a loopback target, with the source address spread over 127.0.0.x.
enum Sockets {
    /// Linux's IP_BIND_ADDRESS_NO_PORT (include/uapi/linux/in.h), not exported by Glibc: binding the
    /// source address without reserving a port lets the kernel pick the port per 4-tuple at connect,
    /// so one source address is not limited to ~28k ports for the whole machine.
    private static let ipBindAddressNoPort: Int32 = 24

    /// Starts a non-blocking connect from 127.0.0.`sourceHost` (2...254) to `target`.
    /// Returns the descriptor; completion is signalled by EPOLLOUT and read with `pendingError`.
    static func connect(to target: Target, sourceHost: UInt8) throws(BenchError) -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        if fd < 0 { throw .system("socket", errno) }
        var one: Int32 = 1
        // Events are small and latency is what we measure: never let Nagle hold a request back.
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        if sourceHost != 0 {
            setsockopt(fd, Int32(IPPROTO_IP), ipBindAddressNoPort, &one, socklen_t(MemoryLayout<Int32>.size))
            var src = sockaddr_in()
            src.sin_family = sa_family_t(AF_INET)
            src.sin_addr.s_addr = (UInt32(127) << 24 | UInt32(sourceHost)).bigEndian
            let rc = withUnsafePointer(to: &src) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            if rc < 0 {
                let e = errno
                close(fd)
                throw .system("bind(127.0.0.\(sourceHost))", e)
            }
        }
        var dst = sockaddr_in()
        dst.sin_family = sa_family_t(AF_INET)
        dst.sin_port = target.port.bigEndian
        dst.sin_addr.s_addr = target.address.bigEndian
        let rc = withUnsafePointer(to: &dst) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        if rc < 0 && errno != EINPROGRESS {
            let e = errno
            close(fd)
            throw .system("connect(\(target.hostHeader))", e)
        }
        return fd
    }

    /// The outcome of a non-blocking connect (SO_ERROR): 0 when connected.
    static func pendingError(_ fd: Int32) -> Int32 {
        var err: Int32 = 0
        var len = socklen_t(MemoryLayout<Int32>.size)
        if getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0 { return errno }
        return err
    }

    /// Writes all of `bytes` to a socket that should have room for it (a request of a few hundred
    /// bytes on a fresh or idle connection). Returns false when the socket refused part of it.
    static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) -> Bool {
        var off = 0
        var spins = 0
        while off < bytes.count {
            let n = write(fd, bytes.baseAddress! + off, bytes.count - off)
            if n > 0 {
                off += n
            } else if n < 0 && errno == EINTR {
                continue
            } else if n < 0 && errno == EAGAIN && spins < 1000 {
                // A full send buffer on a request this small means the peer stopped reading; give it
                // a moment rather than building a write queue for a case that only signals trouble.
                spins += 1
                usleep(100)
            } else {
                return false
            }
        }
        return true
    }

    /// Raises the soft open-file limit to the hard limit: a worker holds up to ~10,000 sockets.
    static func raiseFileLimit() -> Int {
        var rl = rlimit()
        guard getrlimit(RLIMIT_NOFILE_VALUE, &rl) == 0 else { return 1024 }
        if rl.rlim_cur < rl.rlim_max {
            rl.rlim_cur = rl.rlim_max
            _ = setrlimit(RLIMIT_NOFILE_VALUE, &rl)
        }
        return Int(rl.rlim_cur)
    }

    /// RLIMIT_NOFILE as the type getrlimit takes on this Glibc.
    private static var RLIMIT_NOFILE_VALUE: __rlimit_resource_t { __rlimit_resource_t(RLIMIT_NOFILE.rawValue) }
}
