import CShim
import Glibc
import HTTP
import Reactor

/// One outbound TCP connection: it writes a request, reads the response through
/// `ResponseParser`, and between requests sits in its host's pool, still
/// watched, so that a server closing it is noticed at once.
final class PooledConnection: EventHandler {
    let fd: Int32
    let key: HostKey
    weak var client: HTTPClient?
    private unowned let loop: EventLoop
    /// The request it is serving; nil while idle.
    private(set) var exchange: Exchange?
    private var reader = ResponseReader(method: "GET", maxHeaderBytes: 0, maxBodyBytes: 0)
    private var output: [UInt8] = []
    private var written = 0
    var idleTimer: TimerHandle?
    /// Requests completed on it.
    private(set) var served = 0
    private(set) var closed = false
    private var watchingWrites = false

    init(fd: Int32, key: HostKey, client: HTTPClient, loop: EventLoop) {
        self.fd = fd
        self.key = key
        self.client = client
        self.loop = loop
    }

    /// Starts watching for reads; false (and closed) when the loop refuses it.
    func register() -> Bool {
        do {
            try loop.add(fd, events: EPOLLIN.rawValue, handler: self)
            return true
        } catch {
            closed = true
            Glibc.close(fd)
            return false
        }
    }

    /// True when the server has neither closed an idle connection nor sent on
    /// it: a look without taking anything, in case its close is not handled yet.
    var isReusable: Bool {
        guard !closed else { return false }
        var byte: UInt8 = 0
        let n = recv(fd, &byte, 1, Int32(MSG_PEEK) | Int32(MSG_DONTWAIT))
        return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)
    }

    /// Sends `exchange`'s request and reads its response.
    func start(_ exchange: Exchange, maxHeaderBytes: Int) {
        self.exchange = exchange
        exchange.connection = self
        exchange.onReusedConnection = served > 0
        reader = ResponseReader(
            method: exchange.request.method, maxHeaderBytes: maxHeaderBytes,
            maxBodyBytes: exchange.isStream ? .max : UInt64(max(exchange.request.maxBodyBytes, 0)))
        output = exchange.bytes
        written = 0
        flush()
    }

    func close() {
        guard !closed else { return }
        closed = true
        if let idleTimer { loop.cancel(idleTimer) }
        idleTimer = nil
        loop.remove(fd)
        Glibc.close(fd)
        exchange = nil
        output = []
    }

    func handleEvents(_ events: UInt32) {
        if events & EPOLLOUT.rawValue != 0 { flush() }
        if closed { return }
        if events & (EPOLLIN.rawValue | EPOLLHUP.rawValue | EPOLLERR.rawValue) != 0 { readAvailable() }
    }

    // MARK: - writing

    private func flush() {
        guard exchange != nil, written < output.count else { return }
        let result = output.withUnsafeBytes { Socket.write(fd, UnsafeRawBufferPointer(rebasing: $0[written...])) }
        switch result {
        case .processed(let n):
            written += n
        case .wouldBlock:
            break
        case .failed(let code):
            // Nothing of the answer can have come yet unless the server answered
            // early and closed; `receivedAny` tells, as for a read.
            fail(OutboundError(.closed, "send: \(String(cString: strerror(code)))"), retryable: !(exchange?.receivedAny ?? true))
            return
        case .endOfFile:
            fail(OutboundError(.closed, "send: the connection was closed"), retryable: !(exchange?.receivedAny ?? true))
            return
        }
        let wantWrites = written < output.count
        if wantWrites != watchingWrites {
            watchingWrites = wantWrites
            loop.modify(fd, events: wantWrites ? EPOLLIN.rawValue | EPOLLOUT.rawValue : EPOLLIN.rawValue)
        }
        if !wantWrites {
            output = []
            written = 0
        }
    }

    // MARK: - reading

    private func readAvailable() {
        guard let client else { return close() }
        // A few reads per wake-up, so one fast server cannot hold the loop.
        for _ in 0..<4 {
            guard let exchange else {
                // Idle: the server closed it (or sent what nobody asked for).
                close()
                client.connectionClosed(self)
                return
            }
            switch Socket.read(fd, into: client.scratch) {
            case .processed(let n):
                exchange.receivedAny = true
                exchange.lastActivity = loop.now
                let outcome = reader.feed(UnsafeRawBufferPointer(rebasing: client.scratch[0..<n])) { piece in
                    switch piece {
                    case .head(let head):
                        exchange.deliverHead(head)
                        client.receivedHead(exchange)
                    case .body(let bytes):
                        exchange.deliverBody(bytes)
                    }
                    // A callback may have cancelled the exchange, closing the connection.
                    return !closed && self.exchange === exchange
                }
                if conclude(outcome, exchange) { return }
            case .wouldBlock:
                return
            case .endOfFile:
                if !conclude(reader.finish(), exchange, atClose: true) {
                    fail(OutboundError(.closed, "the server closed the connection before answering"), retryable: !exchange.receivedAny)
                }
                return
            case .failed(let code):
                fail(OutboundError(.closed, "recv: \(String(cString: strerror(code)))"), retryable: !exchange.receivedAny)
                return
            }
        }
    }

    /// Acts on how the reader left the response; true when the exchange is over
    /// (or was abandoned) and reading should stop.
    private func conclude(_ outcome: ResponseReader.Outcome, _ exchange: Exchange, atClose: Bool = false) -> Bool {
        switch outcome {
        case .needMore:
            return closed || self.exchange !== exchange
        case .nothing:
            return false
        case .stopped:
            return true
        case .end(let trailingBytes):
            // An answer before the whole request went out, or bytes after it, leave the connection in doubt.
            let keepAlive = exchange.head?.keepAlive ?? false
            complete(reusable: keepAlive && !trailingBytes && output.isEmpty)
            return true
        case .failure(let error):
            let tooLarge = !exchange.isStream && exchange.body.count >= exchange.request.maxBodyBytes
            fail(
                tooLarge
                    ? OutboundError(.bodyTooLarge, "the response body is over \(exchange.request.maxBodyBytes) bytes")
                    : atClose
                        ? OutboundError(.closed, error.message) : OutboundError(.malformedResponse, "malformed response: \(error.message)"),
                retryable: false)
            return true
        }
    }

    private func complete(reusable: Bool) {
        guard let exchange, let client else { return }
        self.exchange = nil
        exchange.connection = nil
        served += 1
        if !reusable { close() }
        client.finished(exchange, on: self)
    }

    private func fail(_ error: OutboundError, retryable: Bool) {
        guard let exchange, let client else { return close() }
        self.exchange = nil
        exchange.connection = nil
        close()
        client.failed(exchange, on: self, error, retryable: retryable)
    }
}
