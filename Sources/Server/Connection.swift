import CShim
import EventStream
import Glibc
import HTTP
import Reactor

/// One client connection on one event loop: reads requests, answers them, and
/// when a request asks for a stream, becomes a subscriber that writes events.
///
/// request bytes → `RequestParser` → `Router` → the handler for the route.
/// Touched only on its loop's thread.
final class Connection: EventHandler {
    enum Phase {
        case awaitingHead
        case readingBody
        /// A step of the responder chain waits for an outside answer (the
        /// auth callback, the store); nothing more is read meanwhile.
        case waiting
        case streaming
        /// Answered and shut for writing; reading what the client still sends
        /// so the close does not reset the connection and destroy the answer.
        case draining
    }

    let fd: Int32
    unowned let context: LoopContext
    var slot = -1
    let overCapacity: Bool
    var parser: RequestParser
    let inbox = ByteBuffer()
    let outbox = ByteBuffer()
    var phase = Phase.awaitingHead
    /// When the current phase began (monotonic ns), for the header timeout.
    var phaseSince: UInt64
    var lastRead: UInt64
    /// When the socket last took bytes of a response.
    var lastWriteProgress: UInt64
    var head: RequestHead?
    var route: Route?
    /// The request being answered, with the identity its steps established.
    var request: ServerRequest?
    /// The request a step has suspended, until it resumes.
    var waitingRequest: ServerRequest?
    /// The peer's address, looked up only when something asks for it.
    lazy var clientAddress: String = Socket.peerAddress(fd)
    var publishBody: PublishBody?
    var discardedBody = 0
    var keepAlive = true
    var closeWhenFlushed = false
    var isPending = false
    var isWriteBlocked = false
    private(set) var isClosed = false
    var readPaused = false
    var stream: StreamState?
    /// The channels this stream counts in for presence.
    var presence: PresenceMembership?
    /// A large file's body, sent after its head in the outbox; nothing after it
    /// is answered until it is out.
    var fileBody: FileBody?
    /// The access log's facts about this connection; nil without `--access-log`.
    var accessEntry: AccessLog.Entry?

    /// Output owed to a client that pipelines requests without reading the answers.
    static let maxPipelinedOutput = 256 * 1024

    init(fd: Int32, context: LoopContext, overCapacity: Bool) {
        self.fd = fd
        self.context = context
        self.overCapacity = overCapacity
        parser = RequestParser(maxHeaderBytes: 16 * 1024)
        phaseSince = context.loop.now
        lastRead = phaseSince
        lastWriteProgress = phaseSince
    }

    var server: ServerContext { context.server }

    // MARK: - events

    func handleEvents(_ events: UInt32) {
        if events & EPOLLOUT.rawValue != 0 {
            isWriteBlocked = false
            updateInterest()
            let sendingFile = fileBody != nil
            flush()
            if readPaused && fileBody == nil && outbox.count < Self.maxPipelinedOutput / 2 {
                readPaused = false
                updateInterest()
                process()
            } else if sendingFile && fileBody == nil && !isClosed {
                // The file is out: answer what was pipelined behind it.
                process()
            }
        }
        guard !isClosed else { return }
        if readPaused {
            // Hang-up and error are reported whatever the interest: with reads
            // paused nothing would clear them, so the connection is done.
            if events & (EPOLLHUP.rawValue | EPOLLERR.rawValue) != 0 { close() }
            return
        }
        if events & (EPOLLIN.rawValue | EPOLLRDHUP.rawValue | EPOLLHUP.rawValue | EPOLLERR.rawValue) != 0 {
            readInput()
        }
    }

    private func readInput() {
        switch Socket.read(fd, into: context.readBuffer) {
        case .processed(let n):
            lastRead = context.loop.now
            // A subscriber has nothing more to say; what it sends is dropped
            // (but a long poll's connection goes on to its next request).
            if phase == .draining || phase == .streaming && stream?.poll == nil { return }
            if phase == .streaming {
                inbox.append(UnsafeRawBufferPointer(rebasing: context.readBuffer[0..<n]))
                return
            }
            // The request waiting for a step is not ended by what follows it.
            if phase == .waiting {
                inbox.append(UnsafeRawBufferPointer(rebasing: context.readBuffer[0..<n]))
                if inbox.count > Self.maxPipelinedOutput {
                    readPaused = true
                    updateInterest()
                }
                return
            }
            inbox.append(UnsafeRawBufferPointer(rebasing: context.readBuffer[0..<n]))
            process()
            inbox.releaseIfEmpty()
        case .endOfFile:
            peerClosed()
        case .wouldBlock:
            return
        case .failed:
            close(reason: .error)
        }
    }

    /// The client shut its side: answer what it asked for, then close.
    private func peerClosed() {
        switch phase {
        case .streaming, .draining:
            close()
            return
        case .waiting:
            // Nobody is left to answer: forget the request.
            close()
            return
        case .awaitingHead, .readingBody:
            process()
        }
        guard !isClosed else { return }
        if phase == .streaming || outbox.isEmpty && !isWriteBlocked {
            close()
        } else {
            closeWhenFlushed = true
            readPaused = true
            updateInterest()
        }
    }

    /// Parses what has arrived and acts on it, request after request.
    func process() {
        while !isClosed && !closeWhenFlushed && phase != .streaming && phase != .draining && phase != .waiting {
            if fileBody != nil || outbox.count > Self.maxPipelinedOutput {
                readPaused = true
                updateInterest()
                return
            }
            let raw = inbox.readable
            let (consumed, output) = parser.parse(raw)
            guard let output else {
                inbox.consume(consumed)
                if consumed == 0 { return }
                continue
            }
            // Consumed before acting on: an answer may end the connection and
            // clear the inbox (`drainAndClose`), so nothing may be consumed after.
            // The bytes stay where they are until the next append.
            switch output {
            case .head(let head):
                inbox.consume(consumed)
                received(head)
            case .body(let range):
                inbox.consume(consumed)
                received(body: UnsafeRawBufferPointer(rebasing: raw[range]))
            case .end:
                inbox.consume(consumed)
                requestEnded()
            case .failure(let error):
                inbox.clear()
                head = nil
                server.logger.debug("bad request from fd \(fd): \(error)")
                respond(.text(error.status, error.message), closing: true)
            }
        }
        if phase == .streaming { inbox.clear() }
    }

    // MARK: - writing

    /// Writes what is owed: the stream's events, or a response.
    func flush() {
        guard !isClosed, !isWriteBlocked else { return }
        if stream != nil {
            flushStream()
            return
        }
        guard writeOutbox() else { return }
        if let file = fileBody {
            var sent = 0
            let outcome = file.send(to: fd, sent: &sent)
            if sent > 0 {
                lastWriteProgress = context.loop.now
                accessEntry?.bytes += sent
            }
            switch outcome {
            case .done:
                fileBody = nil
            case .blocked:
                blockOnWrite()
                return
            case .yielded:
                // Writable still, but the other connections go first: the loop
                // reports it writable again at its next turn.
                blockOnWrite()
                return
            case .failed:
                close()
                return
            }
        }
        if closeWhenFlushed { drainAndClose() }
    }

    /// Writes the owned output bytes; false when the socket is full or the connection closed.
    @discardableResult
    func writeOutbox() -> Bool {
        while !outbox.isEmpty {
            switch Socket.write(fd, outbox.readable) {
            case .processed(let n):
                outbox.consume(n)
                lastWriteProgress = context.loop.now
                accessEntry?.bytes += n
            case .wouldBlock:
                blockOnWrite()
                return false
            case .failed, .endOfFile:
                close()
                return false
            }
        }
        outbox.shrinkIfIdle()
        return true
    }

    func blockOnWrite() {
        guard !isWriteBlocked else { return }
        isWriteBlocked = true
        updateInterest()
    }

    func updateInterest() {
        guard !isClosed else { return }
        // Level-triggered RDHUP fires on every pass once the peer has shut its
        // side, so it is only asked for while reading.
        var events: UInt32 = 0
        if !readPaused { events |= EPOLLIN.rawValue | EPOLLRDHUP.rawValue }
        if isWriteBlocked { events |= EPOLLOUT.rawValue }
        context.loop.modify(fd, events: events)
    }

    // MARK: - closing

    /// Shuts our side once the answer is out and reads until the client closes,
    /// so unread request bytes do not turn the close into a reset.
    private func drainAndClose() {
        guard !inbox.isEmpty || phase == .readingBody || !parser.isIdle else {
            close()
            return
        }
        Socket.shutdownWrite(fd)
        phase = .draining
        phaseSince = context.loop.now
        inbox.clear()
        readPaused = false
        updateInterest()
    }

    func close(reset: Bool = false, reason: CloseReason = .clientClosed) {
        guard !isClosed else { return }
        isClosed = true
        context.loop.remove(fd)
        leavePresence()
        if let stream {
            accessStreamEnded(reason)
            if let timer = stream.expiryTimer { context.loop.cancel(timer) }
            if let timer = stream.poll?.timer { context.loop.cancel(timer) }
            stream.detach(self)
            self.stream = nil
            server.metrics.subscribers.subtract(1, ordering: .relaxed)
        }
        waitingRequest = nil
        request = nil
        publishBody = nil
        fileBody = nil
        if reset { Socket.reset(fd) } else { Socket.close(fd) }
        context.remove(self)
    }

    // MARK: - timers and shutdown

    func tick(now: UInt64, headerTimeout: UInt64, heartbeat: UInt64, bodyTimeout: UInt64) {
        switch phase {
        case .awaitingHead:
            if outbox.isEmpty && fileBody == nil {
                if now &- phaseSince > headerTimeout { close(reason: .timeout) }
            } else if isWriteBlocked && now &- lastWriteProgress > max(headerTimeout * 6, 60_000_000_000) {
                // A client that stopped reading its answers.
                close(reset: true, reason: .timeout)
            }
        case .readingBody:
            // A streaming upload may be idle for hours; any other body must keep coming.
            if publishBody?.isStreaming != true && now &- lastRead > bodyTimeout { close(reason: .timeout) }
        case .streaming:
            if heartbeat > 0 { heartbeatIfIdle(now: now, interval: heartbeat) }
        case .draining:
            if now &- phaseSince > 2_000_000_000 { close(reason: .timeout) }
        case .waiting:
            // The step that suspended the request has its own deadline.
            break
        }
    }

    /// Shutdown: let the current request finish, end streams cleanly, close idle ones.
    func finish() {
        keepAlive = false
        switch phase {
        case .awaitingHead:
            if outbox.isEmpty && !isWriteBlocked { close() } else { closeWhenFlushed = true }
        case .readingBody:
            // A streaming upload may wait for hours: answer it now with what it published.
            if let body = publishBody, body.isStreaming {
                publishBody = nil
                answerWhenPublished(body, closing: true)
            }
        case .draining:
            break
        case .waiting:
            // A publish waiting for the store is answered when the store answers.
            guard waitingRequest != nil else { break }
            waitingRequest = nil
            phase = .readingBody
            respond(.text(503, PublishError.shuttingDown.description, headers: [("Retry-After", "5")]), closing: true)
        case .streaming:
            stream?.finishing = true
            context.markPending(self)
        }
    }
}
