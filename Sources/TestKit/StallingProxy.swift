import Dispatch
import Foundation
import Glibc
import Reactor

/// A TCP proxy in front of a unix socket, for tests of links that stall or
/// break: `pause` stops forwarding (both ways; bytes wait in the kernel, as
/// on a congested link), `resume` carries on, `cut` resets every connection
/// through it. One thread polls everything.
public final class StallingProxy: @unchecked Sendable {
    public let port: Int
    private let upstreamPath: String
    private let listener: Int32
    private let lock = NSLock()
    private var paused = false
    private var cutRequested = false
    private var stopping = false
    private var connectionCount = 0
    private let finished = DispatchSemaphore(value: 0)

    /// Listens on a free port of 127.0.0.1 and forwards to the unix socket at `path`.
    public init(toUnixSocket path: String) throws {
        upstreamPath = path
        (listener, port) = try Socket.listen(host: "127.0.0.1", port: 0)
        let thread = Thread { [self] in
            run()
            finished.signal()
        }
        thread.start()
    }

    /// Connections accepted so far.
    public var connections: Int { lock.withLock { connectionCount } }

    public func pause() { lock.withLock { paused = true } }
    public func resume() { lock.withLock { paused = false } }
    /// Resets every open connection (new ones are still accepted).
    public func cut() { lock.withLock { cutRequested = true } }

    public func stop() {
        lock.withLock { stopping = true }
        _ = finished.wait(timeout: .now() + 10)
        Socket.close(listener)
    }

    private func connectUpstream() -> Int32? {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0, let address = try? SocketAddress.unix(path: upstreamPath),
            address.withSockaddr({ Glibc.connect(fd, $0, $1) }) == 0
        else {
            if fd >= 0 { Glibc.close(fd) }
            return nil
        }
        return fd
    }

    private func run() {
        var pairs: [(Int32, Int32)] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        func closePair(_ index: Int) {
            Socket.reset(pairs[index].0)
            Socket.reset(pairs[index].1)
            pairs.remove(at: index)
        }
        while true {
            let (stop, pausedNow, cutNow) = lock.withLock { () -> (Bool, Bool, Bool) in
                defer { cutRequested = false }
                return (stopping, paused, cutRequested)
            }
            if stop || cutNow {
                while !pairs.isEmpty { closePair(0) }
                if stop { return }
            }
            var polled = [pollfd(fd: listener, events: Int16(POLLIN), revents: 0)]
            if !pausedNow {
                for (a, b) in pairs {
                    polled.append(pollfd(fd: a, events: Int16(POLLIN), revents: 0))
                    polled.append(pollfd(fd: b, events: Int16(POLLIN), revents: 0))
                }
            }
            guard poll(&polled, nfds_t(polled.count), 20) > 0 else { continue }
            let polledPairs = pausedNow ? 0 : pairs.count
            if polled[0].revents != 0, case .processed(let accepted) = Socket.accept(listener) {
                let client = Int32(accepted)
                // Blocking from here on: this thread only forwards.
                _ = fcntl(client, F_SETFL, fcntl(client, F_GETFL) & ~O_NONBLOCK)
                if let upstream = connectUpstream() {
                    pairs.append((client, upstream))
                    lock.withLock { connectionCount += 1 }
                } else {
                    Socket.reset(client)
                }
            }
            guard !pausedNow else { continue }
            var broken: [Int] = []
            for (index, (a, b)) in pairs.prefix(polledPairs).enumerated() {
                for (from, to, slot) in [(a, b, 1 + index * 2), (b, a, 2 + index * 2)] where polled[slot].revents != 0 {
                    let n = buffer.withUnsafeMutableBytes { recv(from, $0.baseAddress, $0.count, 0) }
                    var sent = 0
                    while n > 0 && sent < n {
                        let m = buffer[sent..<n].withUnsafeBytes { send(to, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                        if m <= 0 { break }
                        sent += m
                    }
                    if n <= 0 || sent < n { broken.append(index) }
                }
            }
            for index in Set(broken).sorted(by: >) { closePair(index) }
        }
    }
}
