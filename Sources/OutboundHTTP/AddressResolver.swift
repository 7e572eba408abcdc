import Dispatch
import Glibc
import Reactor

/// Turns a host:port into a socket address without blocking the loop: numeric
/// addresses at once, names on a worker thread (getaddrinfo may wait on DNS)
/// with the answer brought back through the loop's door. Answers are kept for a
/// while, and lookups of one name in flight together are made once.
final class AddressResolver: @unchecked Sendable {
    private unowned let loop: EventLoop
    private let cacheNanos: UInt64
    private var cache: [HostKey: (addresses: [SocketAddress], expires: UInt64)] = [:]
    private var inFlight: [HostKey: [(Result<[SocketAddress], SystemError>) -> Void]] = [:]

    init(loop: EventLoop, cacheNanos: UInt64) {
        self.loop = loop
        self.cacheNanos = cacheNanos
    }

    /// Calls `done` on the loop with the addresses (at least one, to be tried in
    /// order) or why there are none; at once for a numeric or cached name, later
    /// for another.
    func resolve(_ key: HostKey, _ done: @escaping (Result<[SocketAddress], SystemError>) -> Void) {
        loop.assertInLoop()
        if let entry = cache[key], entry.expires > loop.now { return done(.success(entry.addresses)) }
        if Self.isNumeric(key.host) {
            done(Self.lookUp(key))
            return
        }
        if inFlight[key] != nil {
            inFlight[key]!.append(done)
            return
        }
        inFlight[key] = [done]
        DispatchQueue.global().async { [self] in
            let result = Self.lookUp(key)
            loop.execute { [self] in finish(key, result) }
        }
    }

    private static func lookUp(_ key: HostKey) -> Result<[SocketAddress], SystemError> {
        do {
            let addresses = try SocketAddress.resolveAll(host: key.host, port: key.port)
            guard !addresses.isEmpty else { return .failure(SystemError("getaddrinfo(\(key.host))", errno: EINVAL, detail: "no address")) }
            return .success(addresses)
        } catch {
            return .failure(error)
        }
    }

    private func finish(_ key: HostKey, _ result: Result<[SocketAddress], SystemError>) {
        if case .success(let addresses) = result { cache[key] = (addresses, loop.now &+ cacheNanos) }
        let waiting = inFlight.removeValue(forKey: key) ?? []
        for done in waiting { done(result) }
    }

    /// An IPv4 dotted quad or an IPv6 address: getaddrinfo answers those without DNS.
    static func isNumeric(_ host: String) -> Bool {
        host.contains(":") || (!host.isEmpty && host.allSatisfy { $0 == "." || ($0.isASCII && $0.isNumber) })
    }
}
