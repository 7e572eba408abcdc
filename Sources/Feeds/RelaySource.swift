import EventStream
import HTTP
import OutboundHTTP
import Reactor
import Synchronization

/// `sse:URL[@CHANNEL]`: relays an upstream event stream into a local channel, so
/// an edge server fans out an origin's channel to its own subscribers over one
/// upstream connection.
///
/// Each upstream event is published with its type and data and a local id. The
/// stream is read by the WHATWG rules (`EventStreamParser`) on the source's own
/// event loop, through the non-blocking `HTTPClient`; events enter the hub with
/// `submit`, which never waits. After the stream ends or fails it reconnects
/// after the upstream's `retry:` (else 3 s), sending the upstream's last id as
/// `Last-Event-ID`, so nothing is relayed twice or skipped while the upstream
/// still buffers it. An answer that is not `200 text/event-stream` is logged
/// and tried again with a growing delay.
public final class RelaySource: Source {
    static let kind = SourceKind(
        name: "sse", usage: "sse:URL[@CHANNEL]",
        summary: "relays an upstream event stream (http://): type and data kept, local ids; reconnects with its last id",
        argument: .required,
        defaultChannel: { argument throws(SourceError) in try defaultChannel(url: argument ?? "") },
        make: { spec, options throws(SourceError) in
            try RelaySource(url: spec.argument ?? "", channel: spec.channel, options: options, name: spec.description)
        })

    public let name: String
    public let channel: String
    public let url: HTTPURL
    private let options: SourceOptions
    private let timing: RelayTiming
    private let thread = SourceThread()
    private let loop: EventLoop
    /// Set by `start`, read by `stop`; both may run on any thread.
    private let relay = Locked<UpstreamRelay?>(nil)

    public convenience init(url text: String, channel: String? = nil, options: SourceOptions = SourceOptions(), name: String? = nil)
        throws(SourceError)
    {
        try self.init(url: text, channel: channel, options: options, name: name, timing: RelayTiming())
    }

    init(url text: String, channel given: String?, options: SourceOptions, name: String?, timing: RelayTiming) throws(SourceError) {
        url = try Self.parseURL(text)
        let channel: String
        if let given {
            channel = given
        } else {
            channel = try Self.defaultChannel(url: text)
        }
        guard !ChannelName.isReserved(channel) else {
            throw SourceError("source 'sse:\(text)': channel '\(channel)' is the server's own (presence/...); name another with @CHANNEL")
        }
        self.channel = channel
        self.options = options
        self.timing = timing
        self.name = name ?? "sse:\(text)@\(channel)"
        do {
            loop = try EventLoop()
        } catch {
            throw SourceError("\(self.name): cannot make its event loop: \(error)")
        }
    }

    /// The last segment of the URL's path (percent-decoded): `/events/news` relays into `news`.
    static func defaultChannel(url text: String) throws(SourceError) -> String {
        let url = try parseURL(text)
        guard let last = url.path.split(separator: "/").last, let name = Query.percentDecode(last), ChannelName.isValid(name) else {
            throw SourceError("source 'sse:\(text)': the URL's path ends in no channel name; add @CHANNEL")
        }
        return name
    }

    private static func parseURL(_ text: String) throws(SourceError) -> HTTPURL {
        do {
            return try HTTPURL.parse(text)
        } catch {
            throw SourceError("source 'sse:\(text)': \(error.message)")
        }
    }

    public func start(hub: Hub, logger: Logger) throws(SourceError) {
        let upstream = UpstreamRelay(
            url: url, channel: channel, hub: hub, logger: logger, name: name, loop: loop, timing: timing,
            maxEventBytes: options.maxRecordBytes)
        let loop = loop
        guard thread.start(name: name, { loop.run() }) else { throw SourceError("\(name): already started") }
        relay.withLock { $0 = upstream }
        loop.execute { upstream.connect() }
    }

    /// Ends the upstream connection and the loop's thread.
    public func stop() {
        thread.requestStop()
        guard let upstream = relay.withLock({ $0 }) else { return }
        let loop = loop
        loop.execute {
            upstream.stop()
            loop.stop()
        }
    }

    public func waitUntilStopped(timeout: Double) -> Bool { thread.waitFinished(timeout: timeout) }
}

/// How long the relay waits: to connect and get a head, for a silent stream,
/// between attempts.
struct RelayTiming: Sendable {
    /// Until the answer's head has arrived.
    var headTimeoutNanos: UInt64 = 10_000_000_000
    /// A stream with no bytes this long (not even a heartbeat) is dropped and reconnected.
    var idleTimeoutNanos: UInt64 = 60_000_000_000
    /// The wait before reconnecting when the upstream has sent no `retry:`.
    var defaultRetryMillis = 3000
    /// The most the delay grows to after refused answers.
    var maxBackoffMillis = 60_000
}
