import CShim
import Glibc

/// Opens outbound connections without blocking the loop: `connect(2)` on a
/// non-blocking socket, then wait for it to become writable (or for the
/// timeout), then read `SO_ERROR` to learn how it went.
public final class Connector: EventHandler {
    private let fd: Int32
    private unowned let loop: EventLoop
    private var timer: TimerHandle?
    private var done: ((Result<Int32, SystemError>) -> Void)?
    private let address: SocketAddress
    /// Keeps the connector alive while it waits; the loop holds handlers weakly in spirit.
    private var keepAlive: Connector?

    /// Connects to `address`; `done` is called once, on the loop, with the
    /// connected non-blocking, close-on-exec descriptor (now the caller's, not
    /// registered on the loop) or the error. Call on the loop's thread.
    public static func connect(
        to address: SocketAddress, on loop: EventLoop, timeoutNanos: UInt64,
        done: @escaping (Result<Int32, SystemError>) -> Void
    ) {
        loop.assertInLoop()
        let fd = socket(address.family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else {
            done(.failure(SystemError("socket")))
            return
        }
        var rc: Int32
        repeat {
            rc = address.withSockaddr { Glibc.connect(fd, $0, $1) }
        } while rc != 0 && errno == EINTR
        if rc == 0 {
            if address.family != AF_UNIX { Socket.setNoDelay(fd) }
            done(.success(fd))
            return
        }
        guard errno == EINPROGRESS || errno == EAGAIN else {
            let error = SystemError("connect(\(address))")
            Glibc.close(fd)
            done(.failure(error))
            return
        }
        let connector = Connector(fd: fd, loop: loop, address: address, done: done)
        do {
            try loop.add(fd, events: EPOLLOUT.rawValue, handler: connector)
        } catch {
            Glibc.close(fd)
            done(.failure(error))
            return
        }
        connector.keepAlive = connector
        connector.timer = loop.schedule(after: timeoutNanos) { [weak connector] in
            connector?.finish(.failure(SystemError("connect(\(address)): timed out", errno: ETIMEDOUT)))
        }
    }

    private init(fd: Int32, loop: EventLoop, address: SocketAddress, done: @escaping (Result<Int32, SystemError>) -> Void) {
        self.fd = fd
        self.loop = loop
        self.address = address
        self.done = done
    }

    public func handleEvents(_ events: UInt32) {
        var error: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        if getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) != 0 { error = errno }
        if error == 0 {
            if address.family != AF_UNIX { Socket.setNoDelay(fd) }
            finish(.success(fd))
        } else {
            finish(.failure(SystemError("connect(\(address))", errno: error)))
        }
    }

    private func finish(_ result: Result<Int32, SystemError>) {
        guard let done else { return }
        self.done = nil
        if let timer { loop.cancel(timer) }
        loop.remove(fd)
        if case .failure = result { Glibc.close(fd) }
        keepAlive = nil
        done(result)
    }
}
