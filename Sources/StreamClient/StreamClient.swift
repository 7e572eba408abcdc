import EventStream
import Glibc
import HTTP

/// The `sse-cat` client: connects, reads the event stream, prints events, and
/// reconnects as EventSource does, until it has printed enough, the server says
/// stop, or (with `--no-reconnect`) the stream ends.
///
/// Plain blocking sockets: it is a command-line tool with one connection at a time.
/// Each read's events are formatted into one buffer and written before the next
/// read, so no event waits in a buffer while the client waits for the network.
public final class StreamClient {
    private let options: ClientOptions
    private let output: Int32
    private let errors: Int32
    private var events: EventStreamParser
    /// The reconnection time: the stream's last `retry:`, else 3000 ms.
    private var retryMs = 3000
    private var printed = 0
    private var out: [UInt8] = []
    /// Set while delivering a read's events when the run should end.
    private var stop: SessionEnd? = nil
    private let buffer: UnsafeMutableRawPointer
    private static let bufferSize = 256 * 1024

    private enum SessionEnd {
        case exit(Int32)
        /// Reconnect; with the reason when something failed (nil: the stream ended).
        case reconnect(String?)
    }

    public init(options: ClientOptions, output: Int32 = 1, errors: Int32 = 2) {
        self.options = options
        self.output = output
        self.errors = errors
        events = EventStreamParser(lastEventID: options.lastEventID ?? "")
        buffer = .allocate(byteCount: Self.bufferSize, alignment: 16)
        out.reserveCapacity(1 << 17)
    }

    deinit { buffer.deallocate() }

    /// Runs until done; returns the exit status.
    public func run() -> Int32 {
        // A closed pipe (`| head -n 3`) shows up as EPIPE from write, and ends the run quietly.
        signal(SIGPIPE, SIG_IGN)
        while true {
            switch session() {
            case .exit(let status):
                return status
            case .reconnect(let why):
                guard options.reconnect else {
                    if let why { report(why) }
                    return why == nil ? 0 : 1
                }
                if let why { report("\(why); reconnecting in \(retryMs) ms") }
                pause(milliseconds: retryMs)
            }
        }
    }

    // MARK: - one connection

    private func session() -> SessionEnd {
        let url = options.url
        let fd: Int32
        switch ClientSocket.connect(host: url.host, port: url.port) {
        case .success(let socket): fd = socket
        case .failure(let failure): return .reconnect(failure.message)
        }
        defer {
            close(fd)
            events.finish()
        }
        let request = requestBytes()
        if let error = request.withUnsafeBytes({ ClientSocket.writeAll(fd, $0) }) {
            return .reconnect("write to \(url.hostHeader): \(String(cString: strerror(error)))")
        }
        var http = ResponseParser()
        var start = 0
        var end = 0
        while true {
            if start == end {
                start = 0
                end = 0
            } else if end == Self.bufferSize {
                // Only an unfinished head or chunk-size line is ever left over; move it to the front.
                memmove(buffer, buffer + start, end - start)
                end -= start
                start = 0
            }
            let n = read(fd, buffer + end, Self.bufferSize - end)
            if n < 0 {
                if errno == EINTR { continue }
                return .reconnect("read from \(url.hostHeader): \(String(cString: strerror(errno)))")
            }
            if n == 0 {
                switch http.finish() {
                case .end?: return flush() ?? .reconnect(nil)
                case .failure(let error)?: return flush() ?? .reconnect("\(url.hostHeader): \(error.message)")
                default: return .reconnect("\(url.hostHeader) closed the connection without an answer")
                }
            }
            end += n
            while true {
                let bytes = UnsafeRawBufferPointer(start: buffer + start, count: end - start)
                let (consumed, output) = http.parse(bytes)
                start += consumed
                guard let output else {
                    if consumed == 0 { break }
                    continue
                }
                switch output {
                case .head(let head):
                    if let verdict = judge(head) { return verdict }
                case .body(let range):
                    deliver(UnsafeRawBufferPointer(rebasing: bytes[range]))
                    if let stop { return flush() ?? stop }
                case .end:
                    return flush() ?? .reconnect(nil)
                case .failure(let error):
                    report("\(url.hostHeader) sent a malformed response: \(error.message)")
                    return flush() ?? .exit(1)
                }
            }
            if let failed = flush() { return failed }
        }
    }

    private func requestBytes() -> [UInt8] {
        let url = options.url
        var fields: [(String, String)] = [
            ("Host", url.hostHeader), ("Accept", "text/event-stream"), ("Cache-Control", "no-cache"),
            ("User-Agent", ClientOptions.version.replacingSpaceWithSlash()),
        ]
        // The user's headers replace ours of the same name; Last-Event-ID stays ours.
        fields.removeAll { field in options.headers.contains { $0.name.lowercased() == field.0.lowercased() } }
        fields += options.headers.filter { $0.name.lowercased() != "last-event-id" }.map { ($0.name, $0.value) }
        if !events.lastEventID.isEmpty { fields.append(("Last-Event-ID", events.lastEventID)) }
        var text = "GET \(url.target) HTTP/1.1\r\n"
        for (name, value) in fields { text += "\(name): \(value)\r\n" }
        text += "\r\n"
        return Array(text.utf8)
    }

    /// What to do about a response head: nil to read its event stream.
    private func judge(_ head: ResponseHead) -> SessionEnd? {
        let status = "HTTP \(head.status)\(head.reason.isEmpty ? "" : " " + head.reason)"
        switch head.status {
        case 200:
            if head.mediaType == "text/event-stream" { return nil }
            report("\(status) but the Content-Type is \(head.mediaType.map { "'\($0)'" } ?? "missing"), not text/event-stream")
            return .exit(1)
        case 204:
            return .exit(0)
        case 201..<300:
            report("\(status) is not an event stream")
            return .exit(1)
        case 300..<400:
            report("\(status): redirects are not followed\(head.header("Location").map { " (Location: \($0))" } ?? "")")
            return .exit(1)
        case 500..<600:
            return .reconnect(status)
        default:
            report(status)
            return .exit(1)
        }
    }

    /// Runs body bytes through the event parser, formatting what is to be printed.
    private func deliver(_ piece: UnsafeRawBufferPointer) {
        // Read here: the parser must not be read while it is feeding.
        let lineLimit = events.maxLineBytes
        let dataLimit = events.maxDataBytes
        events.feed(piece) { output in
            guard stop == nil else { return }
            switch output {
            case .event(let event):
                if !options.eventTypes.isEmpty && !options.eventTypes.contains(event.type) { return }
                options.format.append(event, to: &out)
                printed += 1
                if let count = options.count, printed >= count {
                    stop = .exit(0)
                } else if out.count >= 1 << 16 {
                    stop = flush()
                }
            case .retry(let ms):
                retryMs = ms
            case .comment:
                break
            case .lineTooLong:
                report("skipped a line longer than \(lineLimit) bytes")
            case .eventTooLong:
                report("skipped an event whose data is longer than \(dataLimit) bytes")
            }
        }
    }

    /// Writes what is formatted; how the run ends if the output is gone.
    private func flush() -> SessionEnd? {
        guard !out.isEmpty else { return nil }
        let error = out.withUnsafeBytes { ClientSocket.writeAll(output, $0) }
        out.removeAll(keepingCapacity: out.capacity <= 1 << 20)
        guard let error else { return nil }
        // The reader went away (`| head`): nothing more to do, and nothing wrong.
        if error == EPIPE { return .exit(0) }
        report("write to standard output: \(String(cString: strerror(error)))")
        return .exit(1)
    }

    private func report(_ message: String) {
        var line = Array("sse-cat: \(message)\n".utf8)
        _ = line.withUnsafeMutableBytes { ClientSocket.writeAll(errors, UnsafeRawBufferPointer($0)) }
    }

    private func pause(milliseconds: Int) {
        var left = timespec(tv_sec: milliseconds / 1000, tv_nsec: (milliseconds % 1000) * 1_000_000)
        var rest = timespec()
        while nanosleep(&left, &rest) < 0 && errno == EINTR { left = rest }
    }
}

extension String {
    /// `sse-cat 0.1.0` as a product token: `sse-cat/0.1.0`.
    func replacingSpaceWithSlash() -> String {
        String(map { $0 == " " ? "/" : $0 })
    }
}
