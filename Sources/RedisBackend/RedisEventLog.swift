import EventStream
import RESP
import Reactor

/// The events of every node in Redis Streams: appending (numbered by Redis,
/// the same id in the global log and the channel's stream), following the log
/// from a cursor, and a channel's history after an id. See `EventLogFunctions`
/// for the keys and the guarantees.
///
/// Two connections: `commands` for appends and history (pipelined), and
/// `follower` for the log's `XREAD BLOCK`, which holds its connection while it
/// waits. Everything (calls and completions) runs on the clients' loop.
public final class RedisEventLog {
    /// Key names and bounds.
    public struct Configuration: Sendable {
        /// Prepended to every key (`sse:log`, `sse:origin`, `sse:ch:CHANNEL`).
        public var keyPrefix = "sse:"
        /// Events kept in the global log (trimmed with `MAXLEN ~`): how far
        /// behind a node may fall before it has to report a gap.
        public var logMaxLength = 100_000
        /// Events kept per channel, for replay (`--buffer`).
        public var channelMaxLength = 1_000
        /// A channel's stream expires this long after its last event: 24 h, so
        /// idle channels do not keep keys forever while a client that was away
        /// for a night can still replay.
        public var channelTTLSeconds = 86_400

        public init() {}
    }

    public let configuration: Configuration
    public let commands: RedisClient
    public let follower: RedisClient
    let logKey: String
    let originKey: String
    let channelPrefix: String
    /// Redis's clock minus ours, in ms, measured by `load`: deadlines are read on Redis's clock.
    public private(set) var redisClockOffsetMs: Int64 = 0

    public init(commands: RedisClient, follower: RedisClient, configuration: Configuration = Configuration()) {
        precondition(commands.loop === follower.loop, "both connections on one loop")
        self.commands = commands
        self.follower = follower
        self.configuration = configuration
        logKey = configuration.keyPrefix + "log"
        originKey = configuration.keyPrefix + "origin"
        channelPrefix = configuration.keyPrefix + "ch:"
    }

    /// The message for a Redis without FUNCTION.
    public static let versionMessage = "Redis 7.0 or newer is needed (FUNCTION)"

    /// Loads the FUNCTION library (`FUNCTION LOAD REPLACE`) and reads Redis's
    /// clock. A Redis older than 7.0 fails with `.server(versionMessage)`.
    public func load(done: @escaping (Result<Void, RedisError>) -> Void) {
        commands.send(["FUNCTION", "LOAD", "REPLACE", EventLogFunctions.source]) { result in
            switch result {
            case .failure(.server(let text)) where text.contains("unknown command") || text.contains("unknown subcommand"):
                done(.failure(.server(Self.versionMessage)))
            case .failure(let error):
                done(.failure(error))
            case .success:
                let asked = Clock.wallMillis()
                self.commands.send(["TIME"]) { time in
                    switch time {
                    case .failure(let error): done(.failure(error))
                    case .success(let value):
                        guard let parts = value.array, parts.count == 2, let seconds = parts[0].integer, let micros = parts[1].integer else {
                            done(.failure(.protocolError("TIME answered \(value)")))
                            return
                        }
                        let answered = Clock.wallMillis()
                        let redisMs = seconds * 1000 + micros / 1000
                        self.redisClockOffsetMs = redisMs - Int64((asked + answered) / 2)
                        done(.success(()))
                    }
                }
            }
        }
    }

    /// A deadline `millis` from now on Redis's clock, for `append`.
    public func deadline(inMillis millis: UInt64) -> UInt64 {
        UInt64(max(0, Int64(Clock.wallMillis()) + redisClockOffsetMs)) + millis
    }

    /// Appends events, in order, to the log and their channels' streams.
    /// - Parameters:
    ///   - deadlineMs: on Redis's clock (`deadline(inMillis:)`); past it Redis
    ///     refuses with `.server("EXPIRED ...")` and keeps nothing.
    ///   - floor: the highest id the caller has seen; new ids are above it.
    ///   - done: the ids, one per event.
    public func append(
        _ events: [NumberedEvent.Fields], deadlineMs: UInt64, floor: EventID?,
        done: @escaping (Result<[EventID], RedisError>) -> Void
    ) {
        guard !events.isEmpty else {
            done(.success([]))
            return
        }
        var arguments: [any RESPArgument] = [
            "FCALL", "ssesrv_append", 2, logKey, originKey, Int(clamping: deadlineMs), configuration.logMaxLength,
            configuration.channelMaxLength, configuration.channelTTLSeconds, channelPrefix, (floor ?? .zero).description,
        ]
        arguments.reserveCapacity(arguments.count + events.count * 3)
        for event in events {
            arguments.append(event.channel)
            arguments.append(event.type)
            arguments.append(event.data)
        }
        call(arguments, on: commands) { result in
            done(result.flatMap { value in
                guard let elements = value.array else { return .failure(.protocolError("ssesrv_append answered \(value)")) }
                var ids: [EventID] = []
                ids.reserveCapacity(elements.count)
                for element in elements {
                    guard let text = element.string, let id = EventID(parsing: text) else {
                        return .failure(.protocolError("ssesrv_append answered an id \(element)"))
                    }
                    ids.append(id)
                }
                return .success(ids)
            })
        }
    }

    /// Reads the log after `cursor` on the follower connection, waiting up to
    /// `blockMs` for something new; reports a gap when the log has lost events
    /// after the cursor. Never reads from `$`: a node restarts where it stopped.
    public func readLog(after cursor: EventID, count: Int, blockMs: Int, done: @escaping (Result<LogRead, RedisError>) -> Void) {
        var state: Result<RESPValue, RedisError>?
        var read: Result<RESPValue, RedisError>?
        // The check's reply comes first, unless Redis had lost the library and
        // it was loaded again: whichever answer comes second finishes the read.
        let finish = {
            guard let checked = state, let got = read else { return }
            done(Self.logRead(state: checked, read: got, cursor: cursor))
        }
        // Both go out together: the check costs no extra round trip.
        call(["FCALL_RO", "ssesrv_logstate", 2, logKey, originKey, cursor.description], on: follower) {
            state = $0
            finish()
        }
        let timeout = UInt64(blockMs) * 1_000_000 + follower.configuration.commandTimeoutNanos
        follower.send(
            ["XREAD", "COUNT", count, "BLOCK", blockMs, "STREAMS", logKey, cursor.description], timeoutNanos: timeout
        ) {
            read = $0
            finish()
        }
    }

    private static func logRead(state: Result<RESPValue, RedisError>, read: Result<RESPValue, RedisError>, cursor: EventID) -> Result<LogRead, RedisError> {
        let stateValue: RESPValue
        let readValue: RESPValue
        do {
            stateValue = try state.get()
            readValue = try read.get()
        } catch {
            return .failure(error)
        }
        guard let flags = stateValue.array, flags.count == 3, let complete = flags[0].integer else {
            return .failure(.protocolError("ssesrv_logstate answered \(stateValue)"))
        }
        let lostThrough = flags[1].string.flatMap { EventID(parsing: $0) }
        if let restart = flags[2].string.flatMap({ EventID(parsing: $0) }) {
            return .success(LogRead(events: [], gap: true, lostThrough: lostThrough, next: restart))
        }
        var events: [NumberedEvent] = []
        if let streams = readValue.array {
            for stream in streams {
                guard let pair = stream.array, pair.count == 2, let entries = pair[1].array else {
                    return .failure(.protocolError("XREAD answered \(stream)"))
                }
                for entry in entries {
                    guard let event = numbered(entry, channel: nil) else { return .failure(.protocolError("XREAD entry \(entry)")) }
                    events.append(event)
                }
            }
        }
        return .success(LogRead(events: events, gap: complete == 0, lostThrough: lostThrough, next: events.last?.id ?? cursor))
    }

    /// A channel's events after `id` (exclusive), at most `count`, and whether
    /// Redis still holds everything after it (false: the client gets `sse-gap`).
    public func history(channel: String, after id: EventID, count: Int, done: @escaping (Result<StoreHistory, RedisError>) -> Void) {
        call(
            ["FCALL_RO", "ssesrv_history", 2, channelPrefix + channel, originKey, id.description, count, configuration.channelTTLSeconds],
            on: commands
        ) { result in
            done(result.flatMap { value in
                guard let parts = value.array, parts.count == 3, let complete = parts[0].integer, let entries = parts[2].array else {
                    return .failure(.protocolError("ssesrv_history answered \(value)"))
                }
                var events: [NumberedEvent] = []
                events.reserveCapacity(entries.count)
                for entry in entries {
                    guard let event = Self.numbered(entry, channel: channel) else { return .failure(.protocolError("XRANGE entry \(entry)")) }
                    events.append(event)
                }
                let lost = parts[1].string.flatMap { EventID(parsing: $0) }.flatMap { $0 == .zero ? nil : $0 }
                return .success(StoreHistory(events: events, complete: complete == 1, lostThrough: complete == 1 ? nil : lost))
            })
        }
    }

    /// `[id, [field, value, ...]]` as an event; the channel from the entry when not given.
    private static func numbered(_ entry: RESPValue, channel: String?) -> NumberedEvent? {
        guard let pair = entry.array, pair.count == 2, let text = pair[0].string, let id = EventID(parsing: text),
            let fields = pair[1].array, fields.count % 2 == 0
        else { return nil }
        var channelName = channel
        var type = "message"
        var data = ""
        var index = 0
        while index < fields.count {
            switch fields[index].string {
            case "channel": channelName = fields[index + 1].string
            case "type": type = fields[index + 1].string ?? type
            case "data": data = fields[index + 1].string ?? ""
            default: break
            }
            index += 2
        }
        guard let channelName else { return nil }
        return NumberedEvent(id: id, channel: channelName, type: type, data: data)
    }

    /// Sends a command that calls the library; when Redis has lost the library
    /// (restarted empty), loads it again and retries once.
    func call(_ arguments: [any RESPArgument], on client: RedisClient, done: @escaping (Result<RESPValue, RedisError>) -> Void) {
        client.send(arguments) { result in
            guard case .failure(.server(let text)) = result, text.hasPrefix("ERR Function not found") else {
                done(result)
                return
            }
            self.load { loaded in
                switch loaded {
                case .failure(let error): done(.failure(error))
                case .success: client.send(arguments, done: done)
                }
            }
        }
    }
}

extension NumberedEvent {
    /// An event before Redis has numbered it: channel, type and data.
    public typealias Fields = (channel: String, type: String, data: String)
}
