import Glibc
import HTTP
import Reactor

/// An HTTP/1.1 client (`http://` only) that runs on one of our event loops and
/// never blocks it: the auth callback, the webhooks and the `sse:` relay use it.
///
/// Everything is called on the loop's thread, and every callback runs there.
/// Connections are kept alive and pooled per host:port (a bounded number idle,
/// each closed after `idleTimeoutNanos` unused, one the server closes while
/// idle noticed and dropped); a request that fails on a reused connection
/// before any byte of its answer is sent once more on a fresh one. A request's
/// deadline covers the whole exchange, on the loop's clock (a `ManualClock` in
/// tests). Bodies are read by Content-Length, chunked coding or the end of the
/// connection.
public final class HTTPClient: @unchecked Sendable {
    public let loop: EventLoop
    public let configuration: HTTPClientConfiguration
    private var pools: [HostKey: HostPool] = [:]
    private let resolver: AddressResolver
    /// Exchanges not yet ended, so that `shutdown` can end them.
    private var active: [ObjectIdentifier: Exchange] = [:]
    private var isShutDown = false
    /// Where connections read into; the parser's leftovers are copied out.
    let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 * 1024, alignment: 16)

    public init(loop: EventLoop, configuration: HTTPClientConfiguration = HTTPClientConfiguration()) {
        self.loop = loop
        self.configuration = configuration
        resolver = AddressResolver(loop: loop, cacheNanos: configuration.resolveCacheNanos)
    }

    deinit { scratch.deallocate() }

    // MARK: - the API

    /// Sends `request` and calls `done` once, on the loop, with the complete
    /// response (any status) or the reason there is none.
    @discardableResult
    public func execute(
        _ request: OutboundRequest, done: @escaping (Result<OutboundResponse, OutboundError>) -> Void
    ) -> RequestHandle {
        begin(request, .collect(done))
    }

    /// Sends `request` and hands its answer on as it comes: `onHead` once, then
    /// `onBytes` for each piece of the body (already de-chunked; the bytes are
    /// valid only during the call), then `onEnd` once, or `onEnd` alone with the
    /// reason when it fails first. `request.timeoutNanos` covers everything up to
    /// the head; after it, with `idleTimeoutNanos`, a body silent that long ends
    /// with `.timeout`. The body has no size limit. Cancel with the handle
    /// (inside `onHead` too, e.g. for a status the caller does not want).
    @discardableResult
    public func stream(
        _ request: OutboundRequest, idleTimeoutNanos: UInt64? = nil, onHead: @escaping (ResponseHead) -> Void,
        onBytes: @escaping (UnsafeRawBufferPointer) -> Void, onEnd: @escaping (Result<Void, OutboundError>) -> Void
    ) -> RequestHandle {
        begin(request, .stream(onHead: onHead, onBytes: onBytes, onEnd: onEnd, idleTimeoutNanos: idleTimeoutNanos))
    }

    /// Closes every connection and ends every pending request with `.shutdown`
    /// (their callbacks run before it returns). Later requests fail the same way.
    public func shutdown() {
        loop.assertInLoop()
        isShutDown = true
        let pending = Array(active.values)
        for exchange in pending { end(exchange, OutboundError(.shutdown, "\(exchange.request.url): the client was shut down")) }
        for pool in pools.values {
            for connection in pool.idle { connection.close() }
            pool.idle = []
        }
        pools = [:]
    }

    /// Idle kept-alive connections in the pool (all hosts), for tests and metrics.
    public var idleConnections: Int { pools.values.reduce(0) { $0 + $1.idle.count } }
    /// Connections open (connecting, busy or idle), for tests and metrics.
    public var openConnections: Int { pools.values.reduce(0) { $0 + $1.open } }

    // MARK: - starting a request

    private func begin(_ request: OutboundRequest, _ mode: Exchange.Mode) -> RequestHandle {
        loop.assertInLoop()
        let bytes: [UInt8]
        var refusal: OutboundError? = nil
        switch request.serialized() {
        case .success(let serialized): bytes = serialized
        case .failure(let error):
            bytes = []
            refusal = error
        }
        if isShutDown { refusal = OutboundError(.shutdown, "\(request.url): the client was shut down") }
        let exchange = Exchange(request: request, bytes: bytes, mode: mode, client: self, deadlineAt: loop.now &+ request.timeoutNanos)
        if let refusal {
            // Reported on the next pass, never from inside the call that started it.
            loop.schedule(after: 0) { exchange.report(refusal) }
            return RequestHandle(exchange)
        }
        active[ObjectIdentifier(exchange)] = exchange
        exchange.deadline = loop.schedule(after: request.timeoutNanos) { [weak self, weak exchange] in
            guard let self, let exchange else { return }
            exchange.deadline = nil
            let what = exchange.head == nil ? "" : " waiting for the body"
            self.end(exchange, OutboundError(.timeout, "\(exchange.request.url): timed out after \(Self.millis(exchange.request.timeoutNanos)) ms\(what)"))
        }
        acquire(for: exchange)
        return RequestHandle(exchange)
    }

    private func pool(_ key: HostKey) -> HostPool {
        if let pool = pools[key] { return pool }
        let pool = HostPool(key: key)
        pools[key] = pool
        return pool
    }

    /// Gives `exchange` an idle connection, opens one, or queues it.
    private func acquire(for exchange: Exchange, fresh: Bool = false) {
        let pool = pool(exchange.key)
        if !fresh {
            while let connection = pool.idle.popLast() {
                if let timer = connection.idleTimer { loop.cancel(timer) }
                connection.idleTimer = nil
                if connection.isReusable {
                    connection.start(exchange, maxHeaderBytes: configuration.maxHeaderBytes)
                    return
                }
                connection.close()
                pool.open -= 1
            }
        }
        if pool.open < configuration.maxConnectionsPerHost {
            pool.open += 1
            connect(for: exchange, pool: pool)
        } else {
            pool.waiting.append(exchange)
        }
    }

    private func connect(for exchange: Exchange, pool: HostPool) {
        resolver.resolve(exchange.key) { [weak self] result in
            guard let self else { return }
            switch result {
            case .failure(let error):
                pool.open -= 1
                self.end(exchange, OutboundError(.resolve, "\(exchange.request.url): \(error)"))
                self.serveWaiting(pool)
            case .success(let address):
                let now = self.loop.now
                let left = exchange.deadlineAt > now ? exchange.deadlineAt - now : 1
                Connector.connect(to: address, on: self.loop, timeoutNanos: min(self.configuration.connectTimeoutNanos, left)) {
                    [weak self] result in
                    guard let self else {
                        if case .success(let fd) = result { Glibc.close(fd) }
                        return
                    }
                    self.connected(result, for: exchange, pool: pool)
                }
            }
        }
    }

    private func connected(_ result: Result<Int32, SystemError>, for exchange: Exchange, pool: HostPool) {
        switch result {
        case .failure(let error):
            pool.open -= 1
            end(exchange, OutboundError(.connect, "\(exchange.request.url): \(error)"))
            serveWaiting(pool)
        case .success(let fd):
            let connection = PooledConnection(fd: fd, key: exchange.key, client: self, loop: loop)
            guard connection.register() else {
                pool.open -= 1
                end(exchange, OutboundError(.connect, "\(exchange.request.url): cannot watch the connection"))
                serveWaiting(pool)
                return
            }
            guard !isShutDown, pools[pool.key] === pool else {
                connection.close()
                return
            }
            if exchange.finished {
                // Timed out or cancelled while connecting: the connection still serves others.
                release(connection, pool: pool)
            } else {
                connection.start(exchange, maxHeaderBytes: configuration.maxHeaderBytes)
            }
        }
    }

    /// A connection free again: to the oldest waiting request, or idle in the pool.
    private func release(_ connection: PooledConnection, pool: HostPool) {
        while let next = pool.waiting.first {
            pool.waiting.removeFirst()
            if next.finished { continue }
            connection.start(next, maxHeaderBytes: configuration.maxHeaderBytes)
            return
        }
        guard configuration.maxIdlePerHost > 0 else {
            connection.close()
            pool.open -= 1
            return
        }
        if pool.idle.count >= configuration.maxIdlePerHost {
            let oldest = pool.idle.removeFirst()
            oldest.close()
            pool.open -= 1
        }
        pool.idle.append(connection)
        connection.idleTimer = loop.schedule(after: configuration.idleTimeoutNanos) { [weak self, weak connection] in
            guard let self, let connection else { return }
            connection.idleTimer = nil
            connection.close()
            self.connectionClosed(connection)
        }
    }

    /// Room for one more connection: start the oldest waiting request on it.
    private func serveWaiting(_ pool: HostPool) {
        while let next = pool.waiting.first, pool.open < configuration.maxConnectionsPerHost {
            pool.waiting.removeFirst()
            if next.finished { continue }
            acquire(for: next)
        }
    }

    // MARK: - told by connections and handles

    /// An idle connection the server closed, or one closed by its idle timer.
    func connectionClosed(_ connection: PooledConnection) {
        guard let pool = pools[connection.key] else { return }
        if pool.idle.contains(where: { $0 === connection }) {
            pool.removeIdle(connection)
            pool.open -= 1
        }
        serveWaiting(pool)
    }

    func receivedHead(_ exchange: Exchange) {
        guard exchange.isStream, !exchange.finished else { return }
        // The head is what a stream's deadline was for; from now on only silence counts.
        if let timer = exchange.deadline { loop.cancel(timer) }
        exchange.deadline = nil
        if let idle = exchange.streamIdleTimeout {
            exchange.lastActivity = loop.now
            armIdleTimer(exchange, after: idle)
        }
    }

    private func armIdleTimer(_ exchange: Exchange, after delay: UInt64) {
        exchange.idleTimer = loop.schedule(after: delay) { [weak self, weak exchange] in
            guard let self, let exchange, !exchange.finished, let idle = exchange.streamIdleTimeout else { return }
            exchange.idleTimer = nil
            // Activity moves a time stamp rather than the timer; the timer catches up here.
            let silent = self.loop.now &- exchange.lastActivity
            if silent >= idle {
                self.end(exchange, OutboundError(.timeout, "\(exchange.request.url): no data for \(Self.millis(idle)) ms"))
            } else {
                self.armIdleTimer(exchange, after: idle - silent)
            }
        }
    }

    /// The response is complete; the connection is kept (still open) or closed already.
    func finished(_ exchange: Exchange, on connection: PooledConnection) {
        stopTimers(exchange)
        active[ObjectIdentifier(exchange)] = nil
        if let pool = pools[connection.key] {
            if connection.closed {
                pool.open -= 1
                serveWaiting(pool)
            } else {
                release(connection, pool: pool)
            }
        } else {
            connection.close()
        }
        exchange.succeed()
    }

    /// The connection failed under `exchange` and is closed; retried once when
    /// it had been reused and nothing of the answer came.
    func failed(_ exchange: Exchange, on connection: PooledConnection, _ error: OutboundError, retryable: Bool) {
        let pool = pools[connection.key]
        if let pool { pool.open -= 1 }
        if retryable && exchange.onReusedConnection && !exchange.retried && !exchange.finished && !isShutDown {
            exchange.retried = true
            exchange.receivedAny = false
            exchange.head = nil
            exchange.body = []
            acquire(for: exchange, fresh: true)
        } else {
            end(exchange, OutboundError(error.kind, "\(exchange.request.url): \(error.message)"))
        }
        if let pool { serveWaiting(pool) }
    }

    /// Called by `RequestHandle.cancel`: ends the exchange without telling anyone.
    func abandon(_ exchange: Exchange) {
        guard !exchange.finished else { return }
        stopTimers(exchange)
        active[ObjectIdentifier(exchange)] = nil
        _ = exchange.takeMode()
        detach(exchange)
    }

    /// Ends `exchange` with `error`: off its connection (closed: half an answer
    /// cannot be reused) or out of the queue, then its callback.
    private func end(_ exchange: Exchange, _ error: OutboundError) {
        guard !exchange.finished else { return }
        stopTimers(exchange)
        active[ObjectIdentifier(exchange)] = nil
        detach(exchange)
        exchange.report(error)
    }

    private func detach(_ exchange: Exchange) {
        if let connection = exchange.connection {
            exchange.connection = nil
            connection.close()
            if let pool = pools[connection.key] {
                pool.open -= 1
                serveWaiting(pool)
            }
        } else {
            pools[exchange.key]?.removeWaiting(exchange)
        }
    }

    private func stopTimers(_ exchange: Exchange) {
        if let timer = exchange.deadline { loop.cancel(timer) }
        if let timer = exchange.idleTimer { loop.cancel(timer) }
        exchange.deadline = nil
        exchange.idleTimer = nil
    }

    static func millis(_ nanos: UInt64) -> UInt64 { nanos / 1_000_000 }
}
