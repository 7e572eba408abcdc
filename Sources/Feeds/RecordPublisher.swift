import EventStream
import Glibc
import Reactor

/// Turns the bytes a source reads into records and publishes all the records
/// of one read as one batch, under one hub lock. The `line` format goes from
/// the read buffer to the encoder as bytes (`RecordBatch`), with no `String`
/// per line: that is what lets `stdin` carry millions of lines a second.
/// Malformed records are skipped and reported, at most a line a second
/// (`MalformedRecordReporter`).
struct RecordPublisher {
    let hub: Hub
    let channel: String
    let logger: Logger
    let sourceName: String
    private var parser: RecordParser
    private var batch: [(channel: String, event: Event)] = []
    /// The `line` format's batch.
    private var lines = RecordBatch()
    /// Events published so far.
    private(set) var published = 0
    private var reporter: MalformedRecordReporter
    /// Malformed records so far.
    var malformed: Int { reporter.total }
    /// True once the hub refused a batch because it is shutting down.
    private(set) var hubClosed = false

    init(hub: Hub, channel: String, logger: Logger, sourceName: String, format: RecordFormat, maxRecordBytes: Int) {
        self.hub = hub
        self.channel = channel
        self.logger = logger
        self.sourceName = sourceName
        self.parser = RecordParser(format: format, maxRecordBytes: maxRecordBytes)
        self.reporter = MalformedRecordReporter(name: sourceName, logger: logger)
    }

    /// Parses and publishes; false when the hub has shut down.
    mutating func consume(_ bytes: UnsafeRawBufferPointer) -> Bool {
        if parser.format == .line {
            var lines = self.lines
            self.lines = RecordBatch()
            var reporter = self.reporter
            parser.feedLines(bytes, line: { lines.append($0) }, failure: { reporter.report($0) })
            reporter.tick()
            self.reporter = reporter
            return publish(&lines)
        }
        var batch = self.batch
        self.batch = []
        var reporter = self.reporter
        let channel = self.channel
        parser.feed(bytes) { result in Self.collect(result, into: &batch, channel: channel, reporter: &reporter) }
        reporter.tick()
        self.reporter = reporter
        return publish(&batch)
    }

    /// Publishes a last unterminated record; the parser starts afresh (line 1)
    /// for what follows, e.g. a rotated file or the command's next run.
    @discardableResult
    mutating func finish() -> Bool {
        if parser.format == .line {
            var lines = self.lines
            self.lines = RecordBatch()
            var reporter = self.reporter
            parser.finishLines(line: { lines.append($0) }, failure: { reporter.report($0) })
            reporter.flush()
            self.reporter = reporter
            return publish(&lines)
        }
        var batch = self.batch
        self.batch = []
        var reporter = self.reporter
        let channel = self.channel
        parser.finish { result in Self.collect(result, into: &batch, channel: channel, reporter: &reporter) }
        reporter.flush()
        self.reporter = reporter
        return publish(&batch)
    }

    /// Forgets a partial record (the file it came from was truncated).
    mutating func reset() {
        parser = RecordParser(format: parser.format, maxRecordBytes: parser.maxRecordBytes)
    }

    private static func collect(
        _ result: Result<Record, RecordError>, into batch: inout [(channel: String, event: Event)], channel: String,
        reporter: inout MalformedRecordReporter
    ) {
        switch result {
        case .success(let record): batch.append((record.channel ?? channel, record.event))
        case .failure(let error): reporter.report(error)
        }
    }

    private mutating func publish(_ lines: inout RecordBatch) -> Bool {
        defer {
            lines.removeAll()
            self.lines = lines
        }
        if hubClosed { return false }
        if lines.isEmpty { return true }
        // Each event's chunk is its data plus ~50 bytes of framing, id and allocation header.
        HeapGrowth.prepare(bytes: lines.byteCount + lines.count * 80)
        let (batch, hub, channel) = (lines, self.hub, self.channel)
        return deliver(lines.count) { () throws(PublishError) in try hub.publish(batch, to: channel) }
    }

    private mutating func publish(_ batch: inout [(channel: String, event: Event)]) -> Bool {
        defer {
            batch.removeAll(keepingCapacity: batch.capacity <= 1 << 16)
            self.batch = batch
        }
        if hubClosed { return false }
        if batch.isEmpty { return true }
        let (routed, hub) = (batch, self.hub)
        return deliver(batch.count) { () throws(PublishError) in try hub.publish(routed: routed) }
    }

    /// Publishes with `attempt`; while the store is away the events are held
    /// (the source reads nothing more meanwhile) and tried again with backoff.
    /// False once the hub is closed.
    private mutating func deliver(_ count: Int, _ attempt: () throws(PublishError) -> [EventID]) -> Bool {
        var delay: UInt32 = 100_000
        var warned = false
        while true {
            do {
                _ = try attempt()
                published += count
                if warned { logger.info("\(sourceName): the store is back; publishing again") }
                return true
            } catch .shuttingDown {
                hubClosed = true
                return false
            } catch .unavailable(let reason) {
                if hub.isClosed {
                    hubClosed = true
                    return false
                }
                if !warned {
                    logger.warning("\(sourceName): holding \(count) events until the store is back (\(reason))")
                    warned = true
                }
                usleep(delay)
                delay = min(delay * 2, 2_000_000)
            } catch {
                // Channels and types were checked when the source was made or
                // the record parsed; a budget (--max-channels) can still refuse.
                logger.error("\(sourceName): could not publish \(count) events: \(error)")
                return true
            }
        }
    }
}
