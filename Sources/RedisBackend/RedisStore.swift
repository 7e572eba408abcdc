import EventStream
import RESP
import Reactor
import Synchronization

/// The hub's `EventStore` on Redis: appends go to the shared log (numbered
/// there, so ids rise across every node), and every node's events come back
/// from the log through `onEvents`, for `Hub.ingest`.
///
/// It owns two connections on one event loop (`RedisEventLog`): commands, and
/// the follower that reads the log with `XREAD BLOCK` from a cursor, forever.
/// `append` and `history` may be called from any thread (they enter the loop
/// through `execute`); their completions, `onEvents`, `onGap` and
/// `onAvailabilityChange` run on the loop.
///
/// A publish is answered only once Redis has kept it, or refused as
/// `.unavailable` within about `publishTimeoutMillis`: Redis itself drops an
/// append that reaches it after that deadline (its own clock), so an event
/// answered "unavailable" is never delivered later.
public final class RedisStore: EventStore, @unchecked Sendable {
    /// Tuning beside the URL.
    public struct Configuration: Sendable {
        public var url: RedisURL
        public var log = RedisEventLog.Configuration()
        /// How long a publish may take before it is refused (and expired in Redis).
        public var publishTimeoutMillis: UInt64 = 1_000
        /// Events per read of the log.
        public var readCount = 1_000
        /// How long one `XREAD` waits for news before it is sent again.
        public var blockMillis = 1_000
        /// Connection timeouts and backoff (its command timeout is replaced by `publishTimeoutMillis`).
        public var client: RedisClient.Configuration

        public init(url: RedisURL) {
            self.url = url
            client = RedisClient.Configuration(url: url)
        }
    }

    public let configuration: Configuration
    public let loop: EventLoop
    public let log: RedisEventLog
    /// Every node's events from the log, in id order (give them to `Hub.ingest`). On the loop.
    public var onEvents: ([NumberedEvent]) -> Void = { _ in }
    /// The log lost events after this node's cursor (it fell too far behind, or
    /// Redis was emptied): subscribers must be told (`sse-gap`). On the loop.
    public var onGap: (EventID?) -> Void = { _ in }
    /// Nil when the store works again, else the reason. On the loop.
    public var onAvailabilityChange: (String?) -> Void = { _ in }

    private let reason = Locked<String?>("connecting to Redis")
    private let running = Atomic<Bool>(false)
    /// Loop-owned from here on.
    private var loaded = false
    private var loadFailure: String?
    private var following = false
    private var stopped = false
    private var cursor = EventID.zero
    /// The highest id seen, passed to Redis as the floor for new ids.
    private(set) var highest = EventID.zero

    /// Resolves the URL's host (may block on DNS: call at start-up, off the loops).
    public init(configuration: Configuration, loop: EventLoop) throws(RedisError) {
        self.configuration = configuration
        self.loop = loop
        var commands = configuration.client
        commands.commandTimeoutNanos = configuration.publishTimeoutMillis * 1_000_000
        var blocking = configuration.client
        // The follower's reads carry their own longer timeout; its other commands the usual one.
        blocking.commandTimeoutNanos = max(commands.commandTimeoutNanos, 1_000_000_000)
        log = RedisEventLog(
            commands: try RedisClient(configuration: commands, loop: loop),
            follower: try RedisClient(configuration: blocking, loop: loop),
            configuration: configuration.log)
    }

    /// Connects, loads the library, and follows the log from `cursor` (an id
    /// this node has everything up to: `Hub.lastID`, or `.zero` to take in the
    /// whole log). From any thread.
    public func start(from cursor: EventID) {
        running.store(true, ordering: .relaxed)
        loop.execute { [self] in
            self.cursor = cursor
            highest = max(highest, cursor)
            log.commands.onStateChange = { [weak self] state in self?.commandsChanged(state) }
            log.follower.onStateChange = { _ in }
            log.commands.start()
            log.follower.start()
        }
    }

    /// Closes both connections. From any thread.
    public func stop() {
        running.store(false, ordering: .relaxed)
        loop.execute { [self] in
            stopped = true
            log.commands.close()
            log.follower.close()
        }
    }

    /// Between `start` and `stop`: work handed to the loop will be done.
    public var isRunning: Bool { running.load(ordering: .relaxed) }

    // MARK: - EventStore

    public var unavailableReason: String? { reason.withLock { $0 } }

    public func append(_ batch: [RoutedEvent], done: @escaping @Sendable (Result<[EventID], PublishError>) -> Void) {
        loop.execute { [self] in
            if let loadFailure {
                done(.failure(.unavailable(loadFailure)))
                return
            }
            let events = batch.map { (channel: $0.channel, type: $0.event.type, data: $0.event.data) }
            log.append(events, deadlineMs: log.deadline(inMillis: configuration.publishTimeoutMillis), floor: highest) { [self] result in
                switch result {
                case .success(let ids):
                    if let last = ids.last, last > highest { highest = last }
                    done(.success(ids))
                case .failure(.server(let text)) where text.hasPrefix("EXPIRED"):
                    done(.failure(.unavailable("Redis did not take the events in time")))
                case .failure(let error):
                    done(.failure(.unavailable(error.description)))
                }
            }
        }
    }

    public func history(channel: String, after id: EventID, limit: Int, done: @escaping @Sendable (Result<StoreHistory, PublishError>) -> Void) {
        loop.execute { [self] in
            log.history(channel: channel, after: id, count: limit) { result in
                done(result.mapError { .unavailable($0.description) })
            }
        }
    }

    // MARK: - on the loop

    private func setReason(_ new: String?) {
        let changed = reason.withLock { current in
            defer { current = new }
            return current != new
        }
        if changed { onAvailabilityChange(new) }
    }

    private func commandsChanged(_ state: RedisClient.State) {
        switch state {
        case .up:
            if loaded {
                setReason(nil)
            } else {
                load()
            }
        case .down(let error): setReason(error.description)
        case .closed: setReason("closed")
        case .connecting: break
        }
    }

    private func load() {
        log.load { [self] result in
            switch result {
            case .success:
                loaded = true
                loadFailure = nil
                setReason(nil)
                if !following {
                    following = true
                    follow()
                }
            case .failure(let error):
                // No FUNCTION (Redis before 7.0) will not mend itself: refuse publishes with the reason.
                if case .server(let text) = error, text == RedisEventLog.versionMessage { loadFailure = text }
                setReason(error.description)
            }
        }
    }

    /// One read of the log after the cursor, then the next, for as long as the store runs.
    private func follow() {
        guard !stopped else { return }
        log.readLog(after: cursor, count: configuration.readCount, blockMs: configuration.blockMillis) { [self] result in
            switch result {
            case .success(let read):
                if read.gap { onGap(read.lostThrough) }
                if !read.events.isEmpty {
                    if let last = read.events.last?.id, last > highest { highest = last }
                    onEvents(read.events)
                }
                cursor = read.next
                follow()
            case .failure:
                // The follower is reconnecting (its state says why); try again shortly.
                guard !stopped else { return }
                loop.schedule(after: 100_000_000) { [weak self] in self?.follow() }
            }
        }
    }
}
