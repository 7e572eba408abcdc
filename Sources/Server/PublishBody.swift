import EventStream
import HTTP
import Reactor

/// The body of one `POST`/`PUT /events/{channel}`, turned into events.
///
/// A plain body is collected (up to `--max-body`) and published at its end as
/// one event, a JSON object, or event-stream blocks, by its Content-Type. With
/// `?format=` the body is a stream of records: each is published as it
/// arrives, and memory stays bounded however long the upload runs.
final class PublishBody {
    enum Kind {
        case text
        case json
        case eventStream
        /// Parsed by `records` as the bytes come.
        case records
    }

    let hub: Hub
    let logger: Logger
    let channel: String
    let eventType: String
    let maxBody: Int
    private var kind: Kind
    /// The streaming parser, kept out of `kind` so that it is mutated in place:
    /// copied out of an enum payload its pending bytes would be shared, and
    /// copied again on every feed (quadratic for a body sent in tiny chunks).
    private var records: RecordParser?
    private var buffer: [UInt8] = []
    /// Ids handed out so far; a long streaming upload keeps only the newest.
    private var ids: [EventID] = []
    private var count = 0
    private var refused: Response?
    /// Malformed records of a `?format=` upload: reported at most a line a second.
    /// Made on first use: most publishes are one plain body and never report.
    private lazy var reporter = MalformedRecordReporter(name: "publish to \(channel)", logger: logger)
    static let maxReportedIDs = 10_000
    /// With a shared store: batches sent and not yet answered, and what to do
    /// once the last one is (answer the request).
    private(set) var inFlight = 0
    private var whenAnswered: ((Response) -> Void)?
    /// Called when a streaming upload that was held back may be read again.
    var onDrained: (() -> Void)?
    private let loop: EventLoop
    /// Batches in flight past which a streaming upload stops being read.
    static let maxInFlight = 16

    init(
        hub: Hub, loop: EventLoop, logger: Logger, channel: String, eventType: String, contentType: String?,
        format: RecordFormat?, maxBody: Int
    ) {
        self.hub = hub
        self.loop = loop
        self.logger = logger
        self.channel = channel
        self.eventType = eventType
        self.maxBody = maxBody
        if let format {
            kind = .records
            records = RecordParser(format: format, maxRecordBytes: maxBody)
        } else if let contentType, contentType.utf8.count >= 16 {
            let media = contentType.split(separator: ";").first?.trimmingSpaces().lowercased() ?? ""
            kind = media == "application/json" ? .json : media == "text/event-stream" ? .eventStream : .text
        } else {
            // Shorter than either media type that is not plain text.
            kind = .text
        }
    }

    var isStreaming: Bool {
        if case .records = kind { return true }
        return false
    }

    /// Takes the next body bytes; returns a response when the request must be
    /// refused now (too large, or the server is stopping).
    func consume(_ bytes: UnsafeRawBufferPointer) -> Response? {
        if let refused { return refused }
        switch kind {
        case .records where records?.format == .line && refused == nil:
            // Bytes straight to the encoder, no String per line (RecordBatch).
            var lines = RecordBatch()
            var reporter = self.reporter
            records?.feedLines(bytes, line: { lines.append($0) }, failure: { reporter.report($0) })
            reporter.tick()
            self.reporter = reporter
            publish(lines)
            return refused
        case .records:
            var batch: [Record] = []
            records?.feed(bytes) { result in collect(result, into: &batch) }
            reporter.tick()
            publish(batch)
            return refused
        case .text, .json, .eventStream:
            guard buffer.count + bytes.count <= maxBody else {
                refused = .text(413, "request body over \(maxBody) bytes")
                buffer = []
                return refused
            }
            buffer.append(contentsOf: bytes)
            return nil
        }
    }

    /// Too many batches wait for the store: stop reading the upload for now.
    var isBackedUp: Bool { inFlight >= Self.maxInFlight }

    /// The body is complete: publish what it holds, then `answer` (at once in
    /// memory; once the store has answered for every batch with one).
    func finish(then answer: @escaping (Response) -> Void) {
        let early = publishRest()
        if let early, inFlight == 0 {
            answer(early)
            return
        }
        if inFlight == 0 {
            answer(response())
        } else {
            whenAnswered = answer
        }
    }

    /// The answer for what was published: the ids, or why not.
    private func response() -> Response {
        if let refused { return refused }
        // Written as bytes: this answer goes out once per publish.
        var body: [UInt8] = []
        body.reserveCapacity(24 + ids.count * 24)
        body.append(contentsOf: #"{"ids":["#.utf8)
        for (index, id) in ids.enumerated() {
            if index > 0 { body.append(0x2C) }
            body.append(0x22)
            Response.appendDecimal(id.millis, to: &body)
            body.append(0x2D)
            Response.appendDecimal(id.sequence, to: &body)
            body.append(0x22)
        }
        body.append(0x5D)
        if count > ids.count {
            body.append(contentsOf: #","count":"#.utf8)
            Response.appendDecimal(count, to: &body)
        }
        body.append(contentsOf: "}\n".utf8)
        return Response(status: 200, headers: Self.jsonHeaders, body: body)
    }

    /// Publishes what the body holds; a response when it is refused outright.
    private func publishRest() -> Response? {
        if let refused { return refused }
        switch kind {
        case .records:
            var batch: [Record] = []
            records?.finish { result in collect(result, into: &batch) }
            reporter.flush()
            publish(batch)
        case .text:
            var data = buffer[...]
            if data.last == 0x0A {
                data = data.dropLast()
                if data.last == 0x0D { data = data.dropLast() }
            }
            guard !data.isEmpty else { return .text(400, "empty body: nothing to publish") }
            // The body's bytes go to the encoder as they are: no String, Record or routed array.
            var one = RecordBatch()
            data.withUnsafeBytes { one.append($0) }
            publish(one)
        case .json:
            // JSON text may span lines; outside strings a line break is only
            // white space, and inside strings it cannot appear raw, so the body
            // reads as one json record.
            let line = buffer.map { $0 == 0x0A || $0 == 0x0D ? 0x20 : $0 }
            var parser = RecordParser(format: .json, maxRecordBytes: maxBody + 1)
            var batch: [Record] = []
            var problem: String?
            let handle: (Result<Record, RecordError>) -> Void = { result in
                switch result {
                case .success(var record):
                    if record.event.type == "message" { record.event.type = self.eventType }
                    record.channel = nil
                    batch.append(record)
                case .failure(let error): problem = error.message
                }
            }
            line.withUnsafeBytes { parser.feed($0, handle) }
            parser.finish(handle)
            if let problem { return .text(400, "malformed JSON body: \(problem)") }
            guard !batch.isEmpty else { return .text(400, "empty body: nothing to publish") }
            publish(batch)
        case .eventStream:
            var parser = RecordParser(format: .sse, maxRecordBytes: maxBody + 1)
            var batch: [Record] = []
            buffer.withUnsafeBytes { parser.feed($0) { collect($0, into: &batch) } }
            parser.finish { collect($0, into: &batch) }
            guard !batch.isEmpty else { return .text(400, "no events in the text/event-stream body") }
            publish(batch)
        }
        return nil
    }

    private func collect(_ result: Result<Record, RecordError>, into batch: inout [Record]) {
        switch result {
        case .success(let record): batch.append(record)
        case .failure(let error): reporter.report(error)
        }
    }

    private func publish(_ lines: RecordBatch) {
        guard !lines.isEmpty, refused == nil else { return }
        inFlight += 1
        let loop = self.loop
        let body = LoopBound(self, on: loop)
        hub.submit(lines, type: eventType, to: channel) { result in
            if loop.inLoopThread {
                body.value.submitted(result)
            } else {
                loop.execute { body.value.submitted(result) }
            }
        }
    }

    private func publish(_ records: [Record]) {
        guard !records.isEmpty, refused == nil else { return }
        let routed = records.map { record in
            RoutedEvent(
                channel: record.channel ?? channel,
                event: record.event.type == "message" && eventType != "message" ? Event(type: eventType, data: record.event.data) : record.event)
        }
        inFlight += 1
        let loop = self.loop
        let body = LoopBound(self, on: loop)
        hub.submit(routed) { result in
            // In memory the answer comes at once, on this loop; from a store, later, elsewhere.
            if loop.inLoopThread {
                body.value.submitted(result)
            } else {
                loop.execute { body.value.submitted(result) }
            }
        }
    }

    private func submitted(_ result: Result<[EventID], PublishError>) {
        inFlight -= 1
        switch result {
        case .success(let new):
            count += new.count
            ids += new
            if ids.count > Self.maxReportedIDs * 2 { ids.removeFirst(ids.count - Self.maxReportedIDs) }
        case .failure(let error):
            if refused == nil { refused = Self.refusal(for: error) }
            if case .invalidEventType = error { logger.warning("publish to \(channel): \(error)") }
        }
        if inFlight == 0, let answer = whenAnswered {
            whenAnswered = nil
            answer(response())
        }
        if inFlight <= Self.maxInFlight / 4, let onDrained {
            onDrained()
        }
    }

    static let jsonHeaders: [(name: String, value: String)] = [("Content-Type", "application/json")]

    /// The answer to a publish the hub or the store refused.
    static func refusal(for error: PublishError) -> Response {
        switch error {
        case .shuttingDown, .unavailable, .tooManyChannels:
            return .text(503, error.description, headers: [("Retry-After", "1")])
        case .reservedChannel:
            return .text(403, error.description)
        case .invalidChannel, .invalidEventType, .emptyData:
            return .text(400, error.description)
        }
    }
}
