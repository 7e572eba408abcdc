import HTTP
import Reactor

/// One request in flight: what to send, where it stands (waiting, connecting,
/// on a connection), what has come back, and who to tell. Owned by the client's loop.
final class Exchange {
    /// What the caller wants: the whole response, or the body as it arrives.
    enum Mode {
        case collect((Result<OutboundResponse, OutboundError>) -> Void)
        case stream(
            onHead: (ResponseHead) -> Void, onBytes: (UnsafeRawBufferPointer) -> Void,
            onEnd: (Result<Void, OutboundError>) -> Void, idleTimeoutNanos: UInt64?)
    }

    let request: OutboundRequest
    let bytes: [UInt8]
    let key: HostKey
    private var mode: Mode?
    weak var client: HTTPClient?
    var connection: PooledConnection?
    /// Absolute loop time by which the exchange (or, streaming, its head) must be done.
    let deadlineAt: UInt64
    var deadline: TimerHandle?
    /// Streaming: the timer that ends a body silent for `idleTimeoutNanos`.
    var idleTimer: TimerHandle?
    var lastActivity: UInt64 = 0
    /// Sent once again on a fresh connection already (a reused one had failed).
    var retried = false
    /// On a connection that had served a request before this one.
    var onReusedConnection = false
    /// Some byte of the response has arrived (then it is never retried).
    var receivedAny = false
    private(set) var finished = false
    var head: ResponseHead?
    var body: [UInt8] = []

    init(request: OutboundRequest, bytes: [UInt8], mode: Mode, client: HTTPClient, deadlineAt: UInt64) {
        self.request = request
        self.bytes = bytes
        self.key = HostKey(host: request.url.host, port: request.url.port)
        self.mode = mode
        self.client = client
        self.deadlineAt = deadlineAt
    }

    var isStream: Bool {
        if case .stream = mode { return true }
        return false
    }

    var streamIdleTimeout: UInt64? {
        if case .stream(_, _, _, let idle) = mode { return idle }
        return nil
    }

    func cancel() { client?.abandon(self) }

    /// Marks the exchange over and returns its callbacks, so that nothing can run them twice.
    func takeMode() -> Mode? {
        finished = true
        defer { mode = nil }
        return mode
    }

    /// Streaming: hands on the head (the exchange may be cancelled inside).
    func deliverHead(_ head: ResponseHead) {
        self.head = head
        if case .stream(let onHead, _, _, _) = mode { onHead(head) }
    }

    /// Keeps or hands on body bytes.
    func deliverBody(_ bytes: UnsafeRawBufferPointer) {
        switch mode {
        case .collect: body.append(contentsOf: bytes)
        case .stream(_, let onBytes, _, _): onBytes(bytes)
        case nil: break
        }
    }

    /// Ends the exchange with its response; the caller has already released the connection.
    func succeed() {
        let head = self.head ?? ResponseHead(status: 0)
        switch takeMode() {
        case .collect(let done): done(.success(OutboundResponse(head: head, body: body)))
        case .stream(_, _, let onEnd, _): onEnd(.success(()))
        case nil: break
        }
    }

    func report(_ error: OutboundError) {
        switch takeMode() {
        case .collect(let done): done(.failure(error))
        case .stream(_, _, let onEnd, _): onEnd(.failure(error))
        case nil: break
        }
    }
}
