import Dispatch
import Reactor

/// Turns a host:port into a socket address without blocking the loop: numeric
/// addresses at once, names on a worker thread (getaddrinfo may wait on DNS)
/// with the answer brought back through the loop's door. Answers are kept for a
/// while, and lookups of one name in flight together are made once.
final class AddressResolver: @unchecked Sendable {
    private unowned let loop: EventLoop
    private let cacheNanos: UInt64
    private var cache: [HostKey: (address: SocketAddress, expires: UInt64)] = [:]
    private var inFlight: [HostKey: [(Result<SocketAddress, SystemError>) -> Void]] = [:]

    init(loop: EventLoop, cacheNanos: UInt64) {
        self.loop = loop
        self.cacheNanos = cacheNanos
    }

    /// Calls `done` on the loop with the address or why there is none; at
    /// once for a numeric or cached one, later for a name.
    func resolve(_ key: HostKey, _ done: @escaping (Result<SocketAddress, SystemError>) -> Void) {
        loop.assertInLoop()
        if let entry = cache[key], entry.expires > loop.now { return done(.success(entry.address)) }
        if Self.isNumeric(key.host) {
            done(Result { () throws(SystemError) in try SocketAddress.resolve(host: key.host, port: key.port) })
            return
        }
        if inFlight[key] != nil {
            inFlight[key]!.append(done)
            return
        }
        inFlight[key] = [done]
        DispatchQueue.global().async { [self] in
            let result = Result { () throws(SystemError) in try SocketAddress.resolve(host: key.host, port: key.port) }
            loop.execute { [self] in finish(key, result) }
        }
    }

    private func finish(_ key: HostKey, _ result: Result<SocketAddress, SystemError>) {
        if case .success(let address) = result { cache[key] = (address, loop.now &+ cacheNanos) }
        let waiting = inFlight.removeValue(forKey: key) ?? []
        for done in waiting { done(result) }
    }

    /// An IPv4 dotted quad or an IPv6 address: getaddrinfo answers those without DNS.
    static func isNumeric(_ host: String) -> Bool {
        host.contains(":") || (!host.isEmpty && host.allSatisfy { $0 == "." || ($0.isASCII && $0.isNumber) })
    }
}
