import CShim
import EventStream
import Glibc
import HTTP
import Reactor

/// Being a subscriber: the stream's head, and writing events from the shared windows.
extension Connection {
    func startStream(_ head: RequestHead, _ request: StreamRequest, identity: Identity) {
        let channels = request.channels
        let lastEventID = request.lastEventID?.trimmingSpaces()
        let after = lastEventID.flatMap { EventID(parsing: $0) }
        let result: SubscribeResult
        if head.method == "HEAD" {
            result = SubscribeResult(windows: [], cursors: [], gap: nil)
        } else {
            do {
                // A reconnect's Last-Event-ID wins over ?last=, so it never replays twice.
                result = try server.hub.subscribe(
                    context.group, to: channels, after: after, lastEventID: lastEventID, last: after == nil ? request.last : nil)
            } catch {
                respond(.text(503, error.description, headers: [("Retry-After", "5")]))
                return
            }
        }
        if let seconds = request.pollSeconds, head.method != "HEAD" {
            startPoll(result, request: request, seconds: seconds)
            return
        }
        let gzipped = server.configuration.gzip && head.accepts(encoding: "gzip")
        let chunked = head.minorVersion >= 1
        // HTTP/1.0 has no chunks: the close ends the stream.
        var headers = Self.eventStreamHeaders
        headers.append(chunked ? ("Transfer-Encoding", "chunked") : ("Connection", "close"))
        if gzipped { headers += [("Content-Encoding", "gzip"), ("Vary", "Accept-Encoding")] }
        headers += server.corsHeaders(for: head)
        outbox.append(Response.head(status: 200, minorVersion: chunked ? 1 : 0, headers: headers))
        if head.method == "HEAD" {
            // A HEAD gets the stream's head and nothing more.
            if !chunked || !keepAlive { closeWhenFlushed = true }
            flush()
            return
        }
        if server.isStopping {
            closeWhenFlushed = true
        }
        let state = StreamState(windows: result.windows, cursors: result.cursors, chunked: chunked, gzip: gzipped ? GzipEncoder(level: 1, windowBits: 12, memoryLevel: 4) : nil, now: context.loop.now)
        state.eventTypes = request.eventTypes
        for i in result.windows.indices {
            state.slots[i] = context.subscribe(self, window: result.windows[i])
        }
        stream = state
        joinPresence(channels, identity: identity)
        phase = .streaming
        // The subscribe synced the loop's windows: their other readers have news too.
        context.markSubscribers(of: result.synced)
        server.metrics.subscribers.add(1, ordering: .relaxed)
        inbox.clear()
        appendStreamBytes(server.retryBytes)
        if let gap = result.gap {
            appendStreamBytes(EventEncoder.block(type: "sse-gap", data: gap))
        }
        if server.isStopping { state.finishing = true }
        if let expires = identity.expiresAtMillis {
            let now = Clock.wallMillis()
            let delay = expires > now ? (expires - now) * 1_000_000 : 0
            state.expiryTimer = context.loop.schedule(after: delay) { [weak self, weak state] in
                guard let self, let state, self.stream === state else { return }
                self.endForReauthorization(state)
            }
        }
        context.markPending(self)
    }

    /// Ends the stream after what it has been sent (not a long poll, which answers).
    func endStream() {
        guard let stream, stream.poll == nil, !stream.finishing else { return }
        stream.finishing = true
        context.markPending(self)
    }

    /// What every event-stream answer says first (a stream, or a notice to try again).
    static let eventStreamHeaders: [(name: String, value: String)] = [
        ("Content-Type", "text/event-stream"), ("Cache-Control", "no-cache"), ("X-Accel-Buffering", "no"),
    ]

    /// The stream's authorization ran out: one `sse-reauth` event (no id, so
    /// the client's Last-Event-ID stays), then the end; the client reconnects
    /// and is asked again, losing nothing.
    private func endForReauthorization(_ stream: StreamState) {
        stream.expiryTimer = nil
        guard !stream.finishing else { return }
        if stream.partial == 0 {
            appendStreamBytes(EventEncoder.block(type: "sse-reauth", data: "{\"reason\":\"expired\"}"))
            stream.finishing = true
            context.markPending(self)
        } else {
            // Half an event is on the wire: end after it, at the next pass.
            context.loop.schedule(after: 10_000_000) { [weak self, weak stream] in
                guard let self, let stream, self.stream === stream else { return }
                self.endForReauthorization(stream)
            }
        }
    }

    /// Bytes that are this stream's own (retry, notices, heartbeats), framed and
    /// compressed as the stream is. Only between events: never while an event
    /// is half written.
    func appendStreamBytes(_ bytes: [UInt8]) {
        guard let stream else { return }
        if let gzip = stream.gzip {
            appendChunk(gzip.compress(bytes), chunked: stream.chunked)
        } else {
            appendChunk(bytes, chunked: stream.chunked)
        }
    }

    private func appendChunk(_ bytes: [UInt8], chunked: Bool) {
        bytes.withUnsafeBytes { appendChunk($0, chunked: chunked) }
    }

    private func appendChunk(_ bytes: UnsafeRawBufferPointer, chunked: Bool) {
        guard !bytes.isEmpty else { return }
        if chunked { outbox.append(ChunkFraming.head(bytes.count)) }
        outbox.append(bytes)
        if chunked { outbox.append(ChunkFraming.tail) }
    }

    func heartbeatIfIdle(now: UInt64, interval: UInt64) {
        guard let stream, stream.poll == nil, now &- stream.lastWrite >= interval, !isWriteBlocked, outbox.isEmpty, stream.isCaughtUp else { return }
        appendStreamBytes(EventEncoder.heartbeat)
        stream.lastWrite = now
        context.markPending(self)
    }

    /// Writes events from the windows: the stream's own bytes first, then as many
    /// pending events as fit in one `writev`, pointing straight at the shared bytes.
    func flushStream() {
        guard let stream else { return }
        // Read before writing: whoever sees the bytes sees a time no later.
        let now = context.loop.now
        if stream.poll != nil {
            answerPollIfReady(stream)
            return
        }
        if stream.hasFallenBehind {
            // A reader that was blocked when its events left the buffer was cut off
            // then (LoopContext.markSubscribers). One that was keeping up and only
            // lost them to a burst larger than the buffer skips ahead with a notice.
            guard stream.partial == 0, outbox.isEmpty else {
                dropSlowSubscriber()
                return
            }
            appendStreamBytes(EventEncoder.block(type: "sse-gap", data: stream.skipToBufferStart()))
        }
        while !isClosed {
            if !outbox.isEmpty {
                guard writeOutbox() else { return }
                stream.lastWrite = now
            }
            let wrote: Bool
            if let gzip = stream.gzip {
                wrote = compressPending(stream, gzip)
            } else {
                switch writePending(stream) {
                case .blocked: return
                case .wrote: wrote = true
                case .nothing: wrote = false
                }
            }
            if wrote { continue }
            if stream.finishing && !stream.finalQueued {
                stream.finalQueued = true
                if let gzip = stream.gzip {
                    appendChunk(gzip.compress([UInt8](), finish: true), chunked: stream.chunked)
                }
                if stream.chunked { outbox.append(ChunkFraming.last) }
                closeWhenFlushed = true
                continue
            }
            break
        }
        if !isClosed && closeWhenFlushed && outbox.isEmpty { close(reason: stream.finishing ? .shutdown : .done) }
    }

    /// Cut off with a reset: neither side keeps unsent data, and the client
    /// reconnects and replays from its last id.
    func dropSlowSubscriber() {
        server.metrics.droppedSubscribers.add(1, ordering: .relaxed)
        server.logger.debug("subscriber on fd \(fd) fell behind the buffer: disconnected")
        close(reset: true, reason: .slow)
    }

    private enum WriteOutcome { case nothing, wrote, blocked }

    /// One writev of pending events; advances cursors by what the kernel took.
    private func writePending(_ stream: StreamState) -> WriteOutcome {
        let vectors = context.vectors
        var count = 0
        var total = 0
        func add(_ segment: UnsafeRawBufferPointer) {
            var base = segment.baseAddress!
            var length = segment.count
            if count == 0 {
                base += stream.partial
                length -= stream.partial
            }
            vectors[count] = iovec(iov_base: UnsafeMutableRawPointer(mutating: base), iov_len: length)
            count += 1
            total += length
        }
        let single = stream.windows.count == 1
        let filtered = stream.eventTypes != nil
        if filtered { stream.skipUnwanted() }
        if single {
            // One channel, the common case: its events in order, no merging.
            let window = stream.windows[0]
            var sequence = stream.cursors[0]
            let end = window.end
            while count < LoopContext.maxVectors && total < 1 << 20 && sequence < end {
                // A filtered stream writes runs of wanted events; the next pass skips the rest.
                if filtered && !stream.wants(0, sequence) { break }
                add(window.segment(at: sequence, chunked: stream.chunked))
                sequence += 1
            }
        } else {
            for i in stream.cursors.indices { stream.scratch[i] = stream.cursors[i] }
            while count < LoopContext.maxVectors && total < 1 << 20, let w = stream.next(after: stream.scratch) {
                if filtered && !stream.wants(w, stream.scratch[w]) { break }
                add(stream.windows[w].segment(at: stream.scratch[w], chunked: stream.chunked))
                stream.scratch[w] += 1
            }
        }
        guard count > 0 else { return .nothing }
        switch Socket.writev(fd, vectors, count: count) {
        case .processed(var written):
            stream.lastWrite = context.loop.now
            accessEntry?.bytes += written
            var sent = 0
            var blocked = false
            for k in 0..<count {
                let length = vectors[k].iov_len
                if written >= length {
                    written -= length
                    sent += 1
                } else {
                    stream.partial = (k == 0 ? stream.partial : 0) + written
                    blocked = true
                    break
                }
            }
            // Blocked: `partial` now counts the bytes of event `sent` already out.
            if !blocked { stream.partial = 0 }
            advance(stream, by: sent, single: single)
            context.delivered += UInt64(sent)
            accessEntry?.events += UInt64(sent)
            if blocked {
                blockOnWrite()
                return .blocked
            }
            return .wrote
        case .wouldBlock:
            blockOnWrite()
            return .blocked
        case .failed, .endOfFile:
            close()
            return .blocked
        }
    }

    /// Moves the cursors past `sent` events, in the order they were written.
    private func advance(_ stream: StreamState, by sent: Int, single: Bool) {
        if single {
            stream.cursors[0] += UInt64(sent)
            return
        }
        for _ in 0..<sent {
            guard let w = stream.next(after: stream.cursors) else { return }
            stream.cursors[w] += 1
        }
    }

    /// Compresses pending events into the outbox (a bounded amount at a time).
    private func compressPending(_ stream: StreamState, _ gzip: GzipEncoder) -> Bool {
        var any = false
        while outbox.count < 64 * 1024, let w = stream.next(after: stream.cursors) {
            if !stream.wants(w, stream.cursors[w]) {
                stream.cursors[w] += 1
                continue
            }
            let event = stream.windows[w].event(at: stream.cursors[w])
            appendChunk(gzip.compress(event.body), chunked: stream.chunked)
            stream.cursors[w] += 1
            context.delivered += 1
            accessEntry?.events += 1
            any = true
        }
        return any
    }
}
