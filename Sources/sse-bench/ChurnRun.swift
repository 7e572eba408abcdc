import Glibc

/// Presence churn: `total` subscribers join one channel at `rate` connections/s, each stays
/// `holdMs` after its response head and leaves, except the last `keep`, which stay. Then the
/// presence snapshot is polled until it shows exactly the `keep` connections (and, with tokens,
/// `keep` users), the kept ones leave, and it is polled until it shows none. The server's CPU is
/// summed from the first connect to the first exact snapshot (so the leaves, which the server
/// publishes after its leave grace, are in it).
final class ChurnRun {
    /// What to run.
    struct Settings {
        var subscribeURL = ""
        var presenceURL = ""
        var total = 10_000
        var rate = 1000.0
        var holdMs = 1000
        var keep = 100
        var tokens: [String] = []  // subscriber k sends tokens[k % count] as a bearer token
        var serverPids: [Int32] = []
        var settleSeconds = 20.0
        var label = "churn"
    }

    /// One subscriber slot.
    private struct Slot {
        var fd: Int32 = -1
        var phase = SubscriberConnection.Phase.notOpened
        var closeAt: Int64 = .max
        var reader = ResponseReader()
    }

    private let s: Settings
    private let poller: Poller
    private var slots: [Slot]
    private let buffer: UnsafeMutablePointer<UInt8>
    private static let bufferSize = 64 * 1024
    private var live: [Int] = []  // streaming, not kept, in close order (hold is constant)
    private var liveHead = 0
    private var ready = 0, failed = 0, ended = 0, pending = 0
    private var firstError = ""

    init(_ settings: Settings) throws(BenchError) {
        s = settings
        poller = try Poller(capacity: 4096)
        slots = Array(repeating: Slot(), count: settings.total)
        buffer = .allocate(capacity: Self.bufferSize)
    }

    deinit { buffer.deallocate() }

    func run() throws(BenchError) -> Report {
        let sub = try Target(s.subscribeURL, channel: "-")
        let presence = try Target(s.presenceURL, channel: "-")
        let probe = s.serverPids.isEmpty ? nil : ServerProbe(pids: s.serverPids)
        if !s.serverPids.isEmpty && probe == nil { throw .failed("--server-pid \(s.serverPids): no such process") }
        let snapshotToken = s.tokens.first
        let requests: [[UInt8]] = (s.tokens.isEmpty ? [""] : s.tokens).map { token in
            let auth = token.isEmpty ? "" : "Authorization: Bearer \(token)\r\n"
            return Array("GET \(sub.path) HTTP/1.1\r\nHost: \(sub.hostHeader)\r\nAccept: text/event-stream\r\n\(auth)User-Agent: sse-bench\r\n\r\n".utf8)
        }

        let cpu0 = probe?.sample().cpuSeconds ?? 0
        let start = Clocks.monoNanos()
        let hardEnd = start + Int64((Double(s.total) / s.rate + Double(s.holdMs) / 1000 + 30) * 1e9)
        var opened = 0
        // Phase 1: churn. Opens are paced by the clock; closes happen `holdMs` after each head.
        while true {
            let now = Clocks.monoNanos()
            if now > hardEnd { break }
            let due = min(s.total, Int(Double(now - start) * s.rate / 1e9) + 1)
            while opened < due && pending < 2000 {
                open(opened, sub)
                opened += 1
            }
            while liveHead < live.count, slots[live[liveHead]].closeAt <= now {
                let i = live[liveHead]
                liveHead += 1
                if slots[i].phase == .streaming { closeSlot(i) }
            }
            if opened == s.total && pending == 0 && liveHead == live.count { break }
            try poller.wait(timeoutMs: 1) { token, _ throws(BenchError) in try handle(Int(token), requests) }
        }
        let churnSeconds = Double(Clocks.monoNanos() - start) / 1e9
        let keptReady = slots.reduce(0) { $0 + ($1.phase == .streaming ? 1 : 0) }

        // Phase 2: the snapshot must settle at exactly the kept streams (keep reading them meanwhile).
        let wantUsers = s.tokens.isEmpty ? 0 : min(keptReady, s.tokens.count)
        let settled = try settle(presence, snapshotToken, PresenceFigures(connections: keptReady, users: wantUsers))
        let cpu = (probe?.sample().cpuSeconds ?? 0) - cpu0
        let settleSeconds = Double(Clocks.monoNanos() - start) / 1e9 - churnSeconds

        // Phase 3: the kept ones leave; the snapshot must settle at nothing.
        for i in 0..<slots.count where slots[i].phase == .streaming { closeSlot(i) }
        let empty = try settle(presence, snapshotToken, PresenceFigures(connections: 0, users: 0))

        var r = Report()
        r.add("scenario", .text("churn"))
        r.add("server", .text(s.label))
        r.add("subscribers", .int(Int64(s.total)), "joined and left")
        r.add("subscribers_ready", .int(Int64(ready)))
        r.add("failed_connections", .int(Int64(failed)), firstError)
        r.add("streams_ended_early", .int(Int64(ended)))
        r.add("identities", .int(Int64(s.tokens.count)), s.tokens.isEmpty ? "anonymous" : "distinct bearer tokens")
        r.add("churn_s", .number(churnSeconds, decimals: 3))
        r.add("connections_per_s", .number(Double(ready) / max(churnSeconds, 1e-9), decimals: 1))
        r.add("kept", .int(Int64(keptReady)))
        r.add("snapshot_settled", .text(settled.seen.description), settled.ok ? "exact" : "NOT exact")
        r.add("settle_s", .number(settleSeconds, decimals: 3), "after the churn, until exact")
        r.add("snapshot_empty", .text(empty.seen.description), empty.ok ? "exact" : "NOT exact")
        if probe != nil {
            r.add("server_cpu_s", .number(cpu, decimals: 3), "first connect → exact snapshot")
            r.add("server_cpu_us_per_conn", .number(cpu * 1e6 / Double(max(ready, 1)), decimals: 1), "per subscriber joined and left")
        }
        let ok = settled.ok && empty.ok && failed == 0 && ended == 0 && ready == s.total
        r.add("ok", .flag(ok), "every subscriber joined and left; both snapshots exact")
        return r
    }

    /// Polls the snapshot every 100 ms until it equals `want` or the settle time is up.
    private func settle(_ presence: Target, _ token: String?, _ want: PresenceFigures) throws(BenchError) -> (ok: Bool, seen: PresenceFigures) {
        let deadline = Clocks.monoNanos() + Int64(s.settleSeconds * 1e9)
        var seen = PresenceFigures(connections: -1, users: -1)
        while Clocks.monoNanos() < deadline {
            if let f = PresenceFigures(json: try SnapshotClient.get(presence, bearer: token)) {
                seen = f
                if f == want { return (true, f) }
            }
            let until = Clocks.monoNanos() + 100_000_000
            while Clocks.monoNanos() < until {
                try poller.wait(timeoutMs: 20) { token, _ throws(BenchError) in drain(Int(token)) }
            }
        }
        return (false, seen)
    }

    private func open(_ i: Int, _ target: Target) {
        do {
            let fd = try Sockets.connect(to: target, sourceHost: UInt8(2 + i % 250))
            slots[i].fd = fd
            slots[i].phase = .connecting
            try poller.add(fd, token: UInt64(i), events: Poller.writable)
            pending += 1
        } catch {
            slots[i].phase = .failed
            failed += 1
            if firstError.isEmpty { firstError = "\(error)" }
        }
    }

    private func closeSlot(_ i: Int) {
        close(slots[i].fd)
        slots[i].fd = -1
        slots[i].phase = .ended
    }

    private func fail(_ i: Int, _ why: String) {
        if slots[i].phase == .connecting || slots[i].phase == .awaitingHead { pending -= 1; failed += 1 } else { ended += 1 }
        if slots[i].fd >= 0 { close(slots[i].fd) }
        slots[i].fd = -1
        slots[i].phase = .failed
        if firstError.isEmpty { firstError = why }
    }

    private func handle(_ i: Int, _ requests: [[UInt8]]) throws(BenchError) {
        switch slots[i].phase {
        case .connecting:
            let err = Sockets.pendingError(slots[i].fd)
            if err != 0 { fail(i, "connect: \(String(cString: strerror(err)))"); return }
            let ok = requests[i % requests.count].withUnsafeBytes { Sockets.writeAll(slots[i].fd, $0) }
            if !ok { fail(i, "write(request) failed"); return }
            slots[i].phase = .awaitingHead
            try poller.modify(slots[i].fd, token: UInt64(i), events: Poller.readable)
        case .awaitingHead:
            var reader = slots[i].reader
            let (n, total) = reader.read(slots[i].fd, into: buffer, capacity: Self.bufferSize)
            if n < 0 && (errno == EAGAIN || errno == EINTR) { slots[i].reader = reader; return }
            if n <= 0 { fail(i, "server closed before the response head"); return }
            var status = 0
            reader.parse(buffer, total) { output in
                if case .head(let head) = output { status = head.status }
                return false
            }
            slots[i].reader = ResponseReader()
            guard status != 0 else { slots[i].reader = reader; return }
            guard status == 200 else { fail(i, "HTTP status \(status)"); return }
            pending -= 1
            ready += 1
            slots[i].phase = .streaming
            if i < s.total - s.keep {
                slots[i].closeAt = Clocks.monoNanos() + Int64(s.holdMs) * 1_000_000
                live.append(i)
            }
        case .streaming:
            drain(i)
        default:
            break
        }
    }

    /// Reads and drops whatever a stream sends (the `retry:` line, comments); notes an end.
    private func drain(_ i: Int) {
        guard slots[i].phase == .streaming else { return }
        let n = read(slots[i].fd, buffer, Self.bufferSize)
        if n < 0 && (errno == EAGAIN || errno == EINTR) { return }
        if n <= 0 { fail(i, "server closed a stream") }
    }
}
