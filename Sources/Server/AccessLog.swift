import Dispatch
import Foundation
import Glibc
import Reactor
import Synchronization

/// The access log (`--access-log PATH|-`): one line per finished request and
/// per closed stream, in text or JSON, never one per delivered event.
///
/// Loops only append a record to a bounded queue (a lock held for an append);
/// a thread of its own formats and writes them, so a slow disk never holds up
/// a loop. Past the bound, records are dropped and counted
/// (`sse_access_log_dropped_total`).
final class AccessLog: @unchecked Sendable {
    /// What one line says.
    struct Record: Sendable {
        var time: Int64
        var client: String
        var method: String
        var path: String
        var status: Int
        var bytes: Int
        var durationNanos: UInt64
        var events: UInt64
        var reason: CloseReason
    }

    /// What a connection keeps for its line: set at accept only when there is
    /// an access log, so a server without one pays nothing.
    struct Entry {
        let client: String
        var started: UInt64 = 0
        var bytes = 0
        var events: UInt64 = 0

        init(client: String) { self.client = client }

        mutating func begin(now: UInt64) {
            started = now
            bytes = 0
            events = 0
        }
    }

    let capacity: Int
    let format: LogFormat
    private let fd: Int32
    private let ownsDescriptor: Bool
    private let lock = Lock()
    private var queue: [Record] = []
    private var stopping = false
    private var started = false
    /// Signalled when the queue goes from empty to not, and on stop.
    private let wake = DispatchSemaphore(value: 0)
    private let finished = DispatchSemaphore(value: 0)
    let dropped = Atomic<UInt64>(0)

    /// Opens `path` for appending (created 0644), or standard output for `-`.
    init(path: String, format: LogFormat, capacity: Int = 10_000) throws(SystemError) {
        self.format = format
        self.capacity = capacity
        if path == "-" {
            fd = 1
            ownsDescriptor = false
        } else {
            fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
            guard fd >= 0 else { throw SystemError("open(\(path))") }
            ownsDescriptor = true
        }
    }

    deinit {
        if ownsDescriptor { Glibc.close(fd) }
    }

    /// Starts the writing thread.
    func start() {
        lock.withLock { started = true }
        let thread = Thread { [self] in run() }
        thread.name = "access-log"
        thread.stackSize = 256 << 10
        thread.start()
    }

    /// Queues a line; on a loop, so it never waits for the disk. Full: dropped and counted.
    func record(_ record: Record) {
        let wasEmpty: Bool? = lock.withLock {
            guard queue.count < capacity, !stopping else { return nil }
            queue.append(record)
            return queue.count == 1
        }
        switch wasEmpty {
        case nil: dropped.add(1, ordering: .relaxed)
        case true?: wake.signal()
        case false?: break
        }
    }

    /// Writes what is queued, then stops the thread (bounded by `timeout` seconds).
    func stop(timeout: Double = 2) {
        let running: Bool = lock.withLock {
            let running = started && !stopping
            stopping = true
            return running
        }
        guard running else { return }
        wake.signal()
        _ = finished.wait(timeout: .now() + timeout)
    }

    private func run() {
        var batch: [Record] = []
        while true {
            wake.wait()
            let done: Bool = lock.withLock {
                swap(&batch, &queue)
                return stopping
            }
            if !batch.isEmpty {
                var bytes: [UInt8] = []
                for record in batch { bytes += Array(line(record).utf8) + [0x0A] }
                Logger.writeAll(fd, bytes)
                batch.removeAll(keepingCapacity: true)
            }
            if done { break }
        }
        finished.signal()
    }

    /// One line: text `TIME CLIENT METHOD PATH STATUS BYTES DURATIONs events=N end=REASON`,
    /// or a JSON object with those names.
    func line(_ r: Record) -> String {
        let time = LogText.timestamp(millis: r.time)
        let milliseconds = Double(r.durationNanos / 1000) / 1000
        switch format {
        case .text:
            let ms = r.durationNanos / 1_000_000
            let fraction = String(ms % 1000)
            let seconds = "\(ms / 1000)." + String(repeating: "0", count: 3 - fraction.count) + fraction
            return "\(time) \(r.client) \(r.method) \(r.path) \(r.status) \(r.bytes) \(seconds)s events=\(r.events) end=\(r.reason.rawValue)"
        case .json:
            return "{\"time\":\"\(time)\",\"client\":\(LogText.jsonString(r.client)),\"method\":\(LogText.jsonString(r.method)),"
                + "\"path\":\(LogText.jsonString(r.path)),\"status\":\(r.status),\"bytes\":\(r.bytes),"
                + "\"duration_ms\":\(milliseconds),\"events\":\(r.events),\"end\":\"\(r.reason.rawValue)\"}"
        }
    }

    /// `ADDRESS:PORT` (`[ADDRESS]:PORT` for IPv6) of the peer of `fd`, or `-`.
    static func peerAddress(_ fd: Int32) -> String {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let rc = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getpeername(fd, $0, &length) }
        }
        guard rc == 0 else { return "-" }
        var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
        func string() -> String {
            String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
        let family = Int32(storage.ss_family)
        if family == AF_INET6 {
            let address = withUnsafeBytes(of: storage) { $0.load(as: sockaddr_in6.self) }
            var ip = address.sin6_addr
            inet_ntop(AF_INET6, &ip, &text, socklen_t(text.count))
            return "[\(string())]:\(UInt16(bigEndian: address.sin6_port))"
        }
        if family == AF_INET {
            let address = withUnsafeBytes(of: storage) { $0.load(as: sockaddr_in.self) }
            var ip = address.sin_addr
            inet_ntop(AF_INET, &ip, &text, socklen_t(text.count))
            return "\(string()):\(UInt16(bigEndian: address.sin_port))"
        }
        return "-"
    }
}
