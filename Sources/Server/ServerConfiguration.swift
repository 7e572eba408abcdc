import EventStream
import Reactor

/// Everything the server needs to know from the command line, with the contract's defaults.
public struct ServerConfiguration: Sendable {
    public var host = "127.0.0.1"
    public var port = 8080
    /// Static files served under `/`; nil serves none.
    public var publicDirectory: String?
    public var bufferSize = 1000
    public var retryMilliseconds = 3000
    /// Seconds of silence before a stream gets a comment line; 0 turns it off.
    public var heartbeatSeconds = 15.0
    public var format = RecordFormat.line
    /// Allowed `Origin` for streams and publishing (`*` for any); nil sends no CORS headers.
    public var corsOrigin: String?
    public var publishToken: String?
    public var gzip = false
    public var maxClients = ServerConfiguration.defaultMaxClients()
    public var maxBody = 1 << 20
    public var headerTimeoutSeconds = 10.0
    /// Event loops (threads); default one per core.
    public var loopCount = ServerConfiguration.coreCount()

    // Budgets and operation.

    /// Channels that may exist (`--max-channels`); one more is `503`.
    public var maxChannels = 100_000
    /// Bytes of buffered events in all channels (`--max-memory`), a quarter of RAM by default.
    public var maxMemory = ServerConfiguration.defaultMaxMemory()
    /// An ordinary request body that stops arriving this long is closed (`--body-timeout`).
    public var bodyTimeoutSeconds = 60.0
    /// The format of standard-error and access-log lines (`--log-format`).
    public var logFormat = LogFormat.text
    /// Where the access log goes (`--access-log`): a file path, `-` for standard
    /// output, nil for none.
    public var accessLogPath: String?

    // Scale-out.

    /// `redis://…` or `unix://…` (`--redis`); nil keeps everything in memory.
    public var redisURL: String?
    /// Bind with `SO_REUSEPORT` (`--reuse-port`).
    public var reusePort = false

    // Access control.

    /// The app asked before a protected stream opens (`--auth`, `http://` only).
    public var authURL: String?
    /// How long to wait for the app, in milliseconds (`--auth-timeout`).
    public var authTimeoutMilliseconds = 1000
    /// HS256 key for JWTs (`--jwt-key`).
    public var jwtKey: String?
    /// Channel globs that need authorization (`--protect`); empty means every
    /// channel when `--auth` or `--jwt-key` is set.
    public var protectedChannels: [String] = []

    // Presence and webhooks.

    /// Seconds without a connection before a user's `leave` (`--leave-grace`).
    public var leaveGraceSeconds = 5.0
    /// With `--redis`: a node not heard from this long drops out of presence (`--presence-ttl`).
    public var presenceTTLSeconds = 10.0
    /// Where presence webhooks are POSTed (`--webhook`, `http://` only).
    public var webhookURL: String?
    /// The webhook signing secret (`--webhook-secret`).
    public var webhookSecret: String?

    public init() {}

    /// Descriptors kept back from `RLIMIT_NOFILE` for listeners, files, sources and pipes.
    public static let reservedDescriptors = 128

    /// Open connections allowed by default: the open-file limit less room for everything else.
    public static func defaultMaxClients() -> Int {
        let limit = ResourceLimits.openFiles()
        return max(16, limit - min(reservedDescriptors, limit / 4))
    }

    /// A quarter of physical memory (256 MiB when it cannot be read).
    public static func defaultMaxMemory() -> Int {
        let memory = ResourceLimits.physicalMemory()
        return memory > 0 ? memory / 4 : 256 << 20
    }

    public static func coreCount() -> Int {
        max(1, min(64, ResourceLimits.cores()))
    }
}
