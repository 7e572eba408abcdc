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
    static let maxReportedIDs = 10_000

    init(hub: Hub, logger: Logger, channel: String, eventType: String, contentType: String?, format: RecordFormat?, maxBody: Int) {
        self.hub = hub
        self.logger = logger
        self.channel = channel
        self.eventType = eventType
        self.maxBody = maxBody
        let media = contentType?.split(separator: ";").first?.trimmingSpaces().lowercased() ?? ""
        if let format {
            kind = .records
            records = RecordParser(format: format, maxRecordBytes: maxBody)
        } else if media == "application/json" {
            kind = .json
        } else if media == "text/event-stream" {
            kind = .eventStream
        } else {
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
        case .records:
            var batch: [Record] = []
            records?.feed(bytes) { result in collect(result, into: &batch) }
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

    /// The body is complete: publish what it holds and answer.
    func finish() -> Response {
        if let refused { return refused }
        switch kind {
        case .records:
            var batch: [Record] = []
            records?.finish { result in collect(result, into: &batch) }
            publish(batch)
        case .text:
            var data = buffer[...]
            if data.last == 0x0A {
                data = data.dropLast()
                if data.last == 0x0D { data = data.dropLast() }
            }
            guard !data.isEmpty else { return .text(400, "empty body: nothing to publish") }
            publish([Record(event: Event(type: eventType, data: String(decoding: data, as: UTF8.self)))])
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
        if let refused { return refused }
        let list = ids.map { "\"\($0)\"" }.joined(separator: ",")
        let more = count > ids.count ? ",\"count\":\(count)" : ""
        return .json(200, "{\"ids\":[\(list)]\(more)}")
    }

    private func collect(_ result: Result<Record, RecordError>, into batch: inout [Record]) {
        switch result {
        case .success(let record): batch.append(record)
        case .failure(let error): logger.warning("publish to \(channel): record at line \(error.line) skipped: \(error.message)")
        }
    }

    private func publish(_ records: [Record]) {
        guard !records.isEmpty, refused == nil else { return }
        do {
            let routed = records.map { record in
                (channel: record.channel ?? channel, event: record.event.type == "message" && eventType != "message"
                    ? Event(type: eventType, data: record.event.data) : record.event)
            }
            let new = try hub.publish(routed: routed)
            count += new.count
            ids += new
            if ids.count > Self.maxReportedIDs * 2 { ids.removeFirst(ids.count - Self.maxReportedIDs) }
        } catch .shuttingDown {
            refused = .text(503, PublishError.shuttingDown.description, headers: [("Retry-After", "5")])
        } catch {
            logger.warning("publish to \(channel): \(error)")
        }
    }
}
