import CShim
import Glibc

/// A worker process's load: `count` subscriber streams on one epoll loop. It opens them with a
/// bounded number of handshakes in flight, reports `ready …` on standard output, records every
/// event's latency, and when told `done N DRAIN_MS` on standard input waits until each stream has
/// N events (or the drain time is up), then reports `result …` and exits. It also exits by itself
/// at its hard deadline or when standard input closes, so it can never outlive the run.
final class SubscriberWorker {
    struct Settings {
        var target: Target
        var count: Int
        var sourceBase: Int
        var maxPending: Int
        var connectTimeoutMs: Int64
        var hardDeadlineMs: Int64
    }

    private let settings: Settings
    private let poller: Poller
    private let conns: UnsafeMutablePointer<SubscriberConnection>
    private let buffer: UnsafeMutablePointer<UInt8>
    private static let bufferSize = 256 * 1024
    private static let stdinToken = UInt64.max
    private let request: [UInt8]

    private var hist = Histogram()
    /// Stands in for `hist` while a read's events are recorded into a local (see `readFrom`).
    private var idleHist = Histogram()
    private var opened = 0
    private var pending = 0
    private var ready = 0
    private var failed = 0
    private var ended = 0
    private var delivered: Int64 = 0
    private var foreign: Int64 = 0
    private var outOfOrder: Int64 = 0
    private var protocolErrors = 0
    private var bytes: Int64 = 0
    private var lastDeliveryWall: Int64 = 0
    private var targetPerStream: Int64 = -1
    private var completeCount = 0
    private var firstError = ""
    private var commandBuffer: [UInt8] = []
    private var stdinClosed = false

    init(_ settings: Settings) throws(BenchError) {
        self.settings = settings
        poller = try Poller(capacity: 4096)
        conns = .allocate(capacity: max(settings.count, 1))
        conns.initialize(repeating: SubscriberConnection(), count: max(settings.count, 1))
        buffer = .allocate(capacity: Self.bufferSize)
        let t = settings.target
        request = Array(
            "GET \(t.path) HTTP/1.1\r\nHost: \(t.hostHeader)\r\nAccept: text/event-stream\r\nCache-Control: no-cache\r\nUser-Agent: sse-bench\r\n\r\n".utf8)
    }

    deinit {
        conns.deinitialize(count: max(settings.count, 1))
        conns.deallocate()
        buffer.deallocate()
    }

    func run() throws(BenchError) {
        let start = Clocks.monoNanos()
        let hardDeadline = start + settings.hardDeadlineMs * 1_000_000
        let connectDeadline = start + settings.connectTimeoutMs * 1_000_000
        try poller.add(0, token: Self.stdinToken, events: Poller.readable)

        // Phase 1: open every stream, a bounded number of handshakes at a time so the server's
        // listen backlog never overflows (a dropped SYN costs a 1 s retransmit and skews the timing).
        while ready + failed < settings.count {
            while pending < settings.maxPending && opened < settings.count { open(opened) }
            let now = Clocks.monoNanos()
            if now > connectDeadline || now > hardDeadline || stdinClosed { break }
            try poller.wait(timeoutMs: 50) { token, ev throws(BenchError) in try handle(token, ev) }
        }
        // Whatever is still connecting by now has failed.
        for i in 0..<opened where conns[i].phase == .connecting || conns[i].phase == .awaitingHead {
            fail(i, "no response head within the connect timeout")
        }
        failed += settings.count - opened
        let connectNs = Clocks.monoNanos() - start
        emit("ready ok=\(ready) failed=\(failed) connect_ns=\(connectNs)\(firstError.isEmpty ? "" : " error=\(firstError)")")

        // Phase 2: stream until told how many events to expect and all have them, or time is up.
        var drainDeadline = Int64.max
        while !stdinClosed {
            let now = Clocks.monoNanos()
            if now > hardDeadline || now > drainDeadline { break }
            if targetPerStream >= 0 && completeCount + ended >= ready { break }
            try poller.wait(timeoutMs: 100) { token, ev throws(BenchError) in
                if token == Self.stdinToken {
                    if let drainMs = readCommand() { drainDeadline = Clocks.monoNanos() + drainMs * 1_000_000 }
                } else {
                    try handle(token, ev)
                }
            }
        }
        emit(
            "result ready=\(ready) failed=\(failed) ended=\(ended) complete=\(completeCount) delivered=\(delivered) foreign=\(foreign) out_of_order=\(outOfOrder) protocol_errors=\(protocolErrors) bytes=\(bytes) last_ns=\(lastDeliveryWall) max_us=\(hist.maxMicros) hist=\(hist.encoded)"
        )
    }

    private func open(_ i: Int) {
        opened += 1
        let source = UInt8(2 + (settings.sourceBase + i) % 250)
        do {
            let fd = try Sockets.connect(to: settings.target, sourceHost: source)
            conns[i].fd = fd
            conns[i].phase = .connecting
            try poller.add(fd, token: UInt64(i), events: Poller.writable)
            pending += 1
        } catch {
            if conns[i].fd >= 0 { close(conns[i].fd) }
            conns[i].fd = -1
            conns[i].phase = .failed
            failed += 1
            if firstError.isEmpty { firstError = "\(error)".replacingAll(" ", with: "_") }
        }
    }

    private func fail(_ i: Int, _ why: String) {
        let wasPending = conns[i].phase == .connecting || conns[i].phase == .awaitingHead
        if conns[i].fd >= 0 { close(conns[i].fd) }
        conns[i].fd = -1
        if conns[i].phase == .streaming {
            // A stream that ends no longer counts as waiting-for-events, complete or not.
            if conns[i].complete { completeCount -= 1 }
            conns[i].phase = .ended
            ended += 1
        } else {
            conns[i].phase = .failed
            failed += 1
        }
        if wasPending { pending -= 1 }
        if firstError.isEmpty { firstError = why.replacingAll(" ", with: "_") }
    }

    private func handle(_ token: UInt64, _ events: UInt32) throws(BenchError) {
        let i = Int(token)
        switch conns[i].phase {
        case .connecting:
            let err = Sockets.pendingError(conns[i].fd)
            if err != 0 { fail(i, "connect: \(String(cString: strerror(err)))"); return }
            let ok = request.withUnsafeBytes { Sockets.writeAll(conns[i].fd, $0) }
            if !ok { fail(i, "write(request) failed"); return }
            conns[i].phase = .awaitingHead
            try poller.modify(conns[i].fd, token: token, events: Poller.readable)
        case .awaitingHead, .streaming:
            readFrom(i)
        default:
            break
        }
    }

    private func readFrom(_ i: Int) {
        // Out of the table while it parses, so the closures below may touch the connection.
        var reader = conns[i].reader
        conns[i].reader = ResponseReader()
        defer { conns[i].reader = reader }
        // Level-triggered: one read per wake-up keeps every stream served fairly; a full buffer
        // just means another wake-up right away.
        let (n, total) = reader.read(conns[i].fd, into: buffer, capacity: Self.bufferSize)
        if n < 0 {
            if errno == EAGAIN || errno == EINTR { return }
            fail(i, "read: \(String(cString: strerror(errno)))")
            return
        }
        if n == 0 {
            fail(i, conns[i].phase == .streaming ? "server closed a stream" : "server closed before the response head")
            return
        }
        bytes += Int64(n)
        let now = Clocks.wallNanos()
        var got: Int64 = 0
        var lastSeq = conns[i].lastSeq
        var disorder: Int64 = 0
        var other: Int64 = 0
        // The histogram and the decoder are taken out for the read: no access to `self` or
        // to the connection array per event (each an exclusivity check, and for the array
        // a uniqueness check).
        var hist = idleHist
        swap(&hist, &self.hist)
        var parser = conns[i].parser
        defer {
            swap(&hist, &self.hist)
            conns[i].parser = parser
        }
        var ending: String? = nil
        reader.parse(buffer, total) { output in
            switch output {
            case .head(let head):
                guard head.status == 200 else {
                    ending = "HTTP status \(head.status)"
                    return false
                }
                conns[i].phase = .streaming
                pending -= 1
                ready += 1
            case .body(let range):
                // A closure literal, not one held in a variable: its captures stay on the
                // stack, with no exclusivity check per event.
                parser.feed(buffer, range) { stamp in
                    guard let s = stamp else { other += 1; return }
                    got += 1
                    if s.seq <= lastSeq { disorder += 1 }
                    lastSeq = s.seq
                    hist.record(micros: (now - s.publishedAt) / 1000)
                }
            case .end:
                ending = "server ended a stream (final chunk)"
                return false
            case .failure:
                protocolErrors += 1
                ending = conns[i].phase == .streaming ? "malformed chunked framing" : "malformed response head"
                return false
            }
            return true
        }
        conns[i].received += got
        conns[i].lastSeq = lastSeq
        delivered += got
        if got > 0 { lastDeliveryWall = now }
        outOfOrder += disorder
        foreign += other
        if targetPerStream >= 0 && !conns[i].complete && conns[i].received >= targetPerStream {
            conns[i].complete = true
            completeCount += 1
        }
        if let ending { fail(i, ending) }
    }

    /// Reads `done N DRAIN_MS` from the coordinator; returns the drain time once it arrives.
    private func readCommand() -> Int64? {
        var tmp = [UInt8](repeating: 0, count: 256)
        let n = tmp.withUnsafeMutableBytes { read(0, $0.baseAddress, 256) }
        if n <= 0 {
            if n < 0 && (errno == EAGAIN || errno == EINTR) { return nil }
            stdinClosed = true
            return nil
        }
        commandBuffer += tmp[0..<n]
        guard let nl = commandBuffer.firstIndex(of: 0x0A) else { return nil }
        let line = String(decoding: commandBuffer[0..<nl], as: UTF8.self)
        commandBuffer.removeFirst(nl + 1)
        let words = line.split(separator: " ")
        guard words.count == 3, words[0] == "done", let n = Int64(words[1]), let drain = Int64(words[2]) else { return nil }
        targetPerStream = n
        for i in 0..<opened where !conns[i].complete && conns[i].received >= n {
            conns[i].complete = true
            completeCount += 1
        }
        return drain
    }

    private func emit(_ line: String) {
        var bytes = Array((line + "\n").utf8)
        _ = bytes.withUnsafeMutableBytes { Sockets.writeAll(1, UnsafeRawBufferPointer($0)) }
    }
}
