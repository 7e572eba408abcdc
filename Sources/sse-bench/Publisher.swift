import CShim
import Glibc
import HTTP

/// Publishes the bench's events with HTTP POST over a few keep-alive connections, one request in
/// flight per connection, either paced at a rate or as fast as responses come back. Each body is
/// `{"t":<CLOCK_REALTIME ns>,"seq":N,"pad":"xxx…"}`, stamped just before it is written.
final class Publisher {
    /// One publishing connection.
    private struct Connection {
        enum Phase { case closed, connecting, idle, awaitingHead, readingBody }
        var fd: Int32 = -1
        var phase = Phase.closed
        var reader = ResponseReader()
        var status = 0
        var keepAlive = true
        var inFlightSince: Int64 = 0
    }

    private let target: Target
    private let poller: Poller
    private var conns: [Connection]
    private let padding: [UInt8]
    private var request: [UInt8] = []
    private let readBuffer: UnsafeMutablePointer<UInt8>
    private let tokenBase: UInt64

    private(set) var sent = 0
    private(set) var acknowledged = 0
    private(set) var rejected = 0
    private(set) var connectionErrors = 0
    private(set) var firstError = ""
    private(set) var statusSeen: [Int: Int] = [:]
    private var nextSeq: Int64 = 1

    /// `tokenBase` keeps the publisher's epoll tokens apart from the caller's own.
    init(target: Target, connections: Int, eventBytes: Int, poller: Poller, tokenBase: UInt64) {
        self.target = target
        self.poller = poller
        self.tokenBase = tokenBase
        conns = Array(repeating: Connection(), count: max(connections, 1))
        // {"t":1732233600000000000,"seq":123456,"pad":""} is ~48 bytes; pad the rest.
        padding = Array(repeating: UInt8(ascii: "x"), count: max(eventBytes - 48, 0))
        readBuffer = .allocate(capacity: 64 * 1024)
        request.reserveCapacity(512 + padding.count)
    }

    deinit {
        for c in conns where c.fd >= 0 { close(c.fd) }
        readBuffer.deallocate()
    }

    func owns(_ token: UInt64) -> Bool { token >= tokenBase && token < tokenBase + UInt64(conns.count) }

    var inFlight: Int { conns.reduce(0) { $0 + ($1.phase == .awaitingHead || $1.phase == .readingBody ? 1 : 0) } }
    var idleCount: Int { conns.reduce(0) { $0 + ($1.phase == .idle ? 1 : 0) } }

    /// Opens (or reopens) every closed connection.
    func connectAll() {
        for i in conns.indices where conns[i].phase == .closed { open(i) }
    }

    private func open(_ i: Int) {
        do {
            let fd = try Sockets.connect(to: target, sourceHost: 1)
            conns[i].fd = fd
            conns[i].phase = .connecting
            try poller.add(fd, token: tokenBase + UInt64(i), events: Poller.writable)
        } catch {
            noteError("\(error)")
            if conns[i].fd >= 0 { close(conns[i].fd) }
            conns[i].fd = -1
            conns[i].phase = .closed
        }
    }

    /// Sends up to `limit` events on idle connections; returns how many went out.
    func send(upTo limit: Int) -> Int {
        var n = 0
        for i in conns.indices where n < limit && conns[i].phase == .idle {
            if sendOne(i) { n += 1 }
        }
        return n
    }

    private func sendOne(_ i: Int) -> Bool {
        let seq = nextSeq
        buildRequest(seq: seq)
        let ok = request.withUnsafeBytes { Sockets.writeAll(conns[i].fd, $0) }
        guard ok else {
            drop(i, "write(POST) failed")
            return false
        }
        nextSeq += 1
        sent += 1
        conns[i].phase = .awaitingHead
        conns[i].reader.reset()
        conns[i].inFlightSince = Clocks.monoNanos()
        return true
    }

    private func buildRequest(seq: Int64) {
        request.removeAll(keepingCapacity: true)
        var body = 0
        // Body first (its length goes in the head), then the head is inserted in front of it.
        append("{\"t\":")
        appendNumber(Clocks.wallNanos())
        append(",\"seq\":")
        appendNumber(seq)
        append(",\"pad\":\"")
        request += padding
        append("\"}")
        body = request.count
        let head = Array("POST \(target.path) HTTP/1.1\r\nHost: \(target.hostHeader)\r\nContent-Type: text/plain\r\nContent-Length: \(body)\r\n\r\n".utf8)
        request.insert(contentsOf: head, at: 0)
    }

    private func append(_ s: StaticString) {
        request.append(contentsOf: UnsafeBufferPointer(start: s.utf8Start, count: s.utf8CodeUnitCount))
    }

    private func appendNumber(_ v: Int64) {
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                     UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var x = v < 0 ? 0 : v
        var n = 0
        withUnsafeMutableBytes(of: &digits) { d in
            repeat {
                d[19 - n] = UInt8(0x30 + x % 10)
                x /= 10
                n += 1
            } while x > 0
            request.append(contentsOf: d[(20 - n)...])
        }
    }

    /// Handles an epoll event for one of the publisher's connections.
    func handle(_ token: UInt64) {
        let i = Int(token - tokenBase)
        switch conns[i].phase {
        case .connecting:
            let err = Sockets.pendingError(conns[i].fd)
            if err != 0 { drop(i, "connect: \(String(cString: strerror(err)))"); return }
            conns[i].phase = .idle
            do {
                try poller.modify(conns[i].fd, token: token, events: Poller.readable)
            } catch {
                drop(i, "\(error)")
            }
        case .awaitingHead, .readingBody, .idle:
            readResponse(i)
        case .closed:
            break
        }
    }

    private func readResponse(_ i: Int) {
        let (n, total) = conns[i].reader.read(conns[i].fd, into: readBuffer, capacity: 64 * 1024)
        if n < 0 && (errno == EAGAIN || errno == EINTR) { return }
        if n <= 0 {
            // The server may close an idle keep-alive connection (nginx's keepalive_requests):
            // not an error unless a request was waiting on it.
            let waiting = conns[i].phase == .awaitingHead || conns[i].phase == .readingBody
            drop(i, waiting ? "server closed a publish connection mid-request" : nil)
            return
        }
        var head: ResponseHead? = nil
        var complete = false
        var malformed = false
        conns[i].reader.parse(readBuffer, total) { output in
            switch output {
            case .head(let h): head = h
            case .body: break
            case .end: complete = true
            case .failure: malformed = true
            }
            return !complete && !malformed
        }
        if let head {
            conns[i].status = head.status
            conns[i].keepAlive = head.keepAlive
            conns[i].phase = .readingBody
        }
        if malformed { drop(i, "malformed publish response"); return }
        guard complete, conns[i].phase == .readingBody else { return }
        let status = conns[i].status
        statusSeen[status, default: 0] += 1
        if status >= 200 && status < 300 {
            acknowledged += 1
        } else {
            rejected += 1
            if firstError.isEmpty { firstError = "publish answered HTTP \(status)" }
        }
        if !conns[i].keepAlive {
            drop(i, nil)
        } else {
            conns[i].phase = .idle
        }
    }

    private func drop(_ i: Int, _ why: String?) {
        if let why {
            noteError(why)
            if conns[i].phase == .awaitingHead || conns[i].phase == .readingBody { rejected += 1 }
        }
        if conns[i].fd >= 0 { close(conns[i].fd) }
        conns[i].fd = -1
        conns[i].phase = .closed
    }

    private func noteError(_ why: String) {
        connectionErrors += 1
        if firstError.isEmpty { firstError = why }
    }

    func closeAll() {
        for i in conns.indices { drop(i, nil) }
    }
}
