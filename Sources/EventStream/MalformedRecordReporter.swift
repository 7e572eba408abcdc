import Reactor

/// Tells standard error about malformed records without letting a flood of
/// them flood it, or slow the good records down.
///
/// The first one is reported at once, with its line and reason. Those that
/// follow within `interval` are only counted; the count is reported, with
/// the latest reason, once `interval` has passed since the last line written
/// (at the next bad record, the next `tick`, or `flush`), so a stream of bad
/// lines costs one line a second. A bad record alone after a quiet interval
/// is reported at once again. Owned by one reader (a source's thread, one
/// upload): no lock, a counter and a clock read per bad record.
public struct MalformedRecordReporter: Sendable {
    /// Who skipped the records, at the start of each line (`stdin@in`, `publish to news`).
    public let name: String
    public let logger: Logger
    /// Nanoseconds between two lines.
    public let interval: UInt64
    private let clock: @Sendable () -> UInt64

    /// Malformed records seen in all, reported or counted.
    public private(set) var total = 0
    /// Counted since the last line written, and the latest of them.
    private var pending = 0
    private var latest: RecordError? = nil
    /// When the last line was written; nil before the first.
    private var lastReport: UInt64? = nil

    /// - Parameter clock: monotonic nanoseconds (injected by tests).
    public init(
        name: String, logger: Logger, interval: UInt64 = 1_000_000_000,
        clock: @escaping @Sendable () -> UInt64 = { Clock.monotonicNanos() }
    ) {
        self.name = name
        self.logger = logger
        self.interval = max(interval, 1)
        self.clock = clock
    }

    /// One malformed record, skipped.
    public mutating func report(_ error: RecordError) {
        total += 1
        let now = clock()
        guard let last = lastReport, pending > 0 || now &- last < interval else {
            logger.warning("\(name): skipped a malformed record at line \(error.line): \(error.message)")
            lastReport = now
            return
        }
        pending += 1
        latest = error
        if now &- last >= interval { writeCount(now: now, since: last) }
    }

    /// Writes the count if one is due; cheap enough to call after every read.
    public mutating func tick() {
        guard pending > 0, let last = lastReport else { return }
        let now = clock()
        if now &- last >= interval { writeCount(now: now, since: last) }
    }

    /// Writes what is counted now, due or not (the input has ended).
    public mutating func flush() {
        guard pending > 0, let last = lastReport else { return }
        writeCount(now: clock(), since: last)
    }

    private mutating func writeCount(now: UInt64, since last: UInt64) {
        let elapsed = Double(now &- last) / 1e9
        let span = elapsed < 1.5 ? "the last second" : "the last \(Int(elapsed.rounded())) s"
        let reason = latest.map { "line \($0.line): \($0.message)" } ?? ""
        logger.warning("\(name): skipped \(pending) malformed record\(pending == 1 ? "" : "s") in \(span); latest at \(reason)")
        pending = 0
        latest = nil
        lastReport = now
    }
}
