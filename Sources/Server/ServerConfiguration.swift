import EventStream

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
    /// Channels that may exist (`--max-channels`).
    public var maxChannels = 100_000
    /// Bytes of buffered events in all channels (`--max-memory`).
    public var maxMemory = HubLimits.defaultMaxMemory()
    /// Seconds an ordinary request body may stop arriving (`--body-timeout`).
    public var bodyTimeoutSeconds = 60.0
    /// Event loops (threads); default one per core.
    public var loopCount = ServerConfiguration.coreCount()

    public init() {}

    /// Descriptors kept back from `RLIMIT_NOFILE` for listeners, files, sources and pipes.
    public static let reservedDescriptors = 128

    /// Open connections allowed by default: the open-file limit less room for everything else.
    public static func defaultMaxClients() -> Int {
        let limit = ResourceLimits.openFiles()
        return max(16, limit - min(reservedDescriptors, limit / 4))
    }

    public static func coreCount() -> Int {
        max(1, min(64, ResourceLimits.cores()))
    }
}
