import EventStream
import HTTP
import Reactor
import Synchronization

/// What every event loop shares: the configuration, the hub, counters, the
/// static files, and the state of shutdown.
final class ServerContext: Sendable {
    let configuration: ServerConfiguration
    let hub: Hub
    let logger: Logger
    let metrics: ServerMetrics
    let staticFiles: StaticFiles?
    /// `--access-log`; nil without it.
    let accessLog: AccessLog?
    let retryBytes: [UInt8]
    let stopping = Atomic<Bool>(false)
    /// Access control; nil when every channel is public and publishing open
    /// (the publish token alone needs no policy).
    let accessPolicy: AccessPolicy?
    /// Who is connected where, and the webhooks; nil only in tests that build a context by hand.
    let presence: PresenceService?

    init(
        configuration: ServerConfiguration, hub: Hub, logger: Logger, staticFiles: StaticFiles?, accessLog: AccessLog? = nil,
        accessPolicy: AccessPolicy? = nil,
        presence: PresenceService? = nil
    ) {
        self.presence = presence
        self.accessPolicy = accessPolicy
        self.configuration = configuration
        self.hub = hub
        self.logger = logger
        self.staticFiles = staticFiles
        self.accessLog = accessLog
        metrics = ServerMetrics(loopCount: hub.groupCount)
        retryBytes = EventEncoder.retry(milliseconds: configuration.retryMilliseconds)
    }

    var isStopping: Bool { stopping.load(ordering: .relaxed) }

    /// The responder chain of one loop, in order.
    func makeSteps(for loop: LoopContext) -> [RequestStep] {
        var steps: [RequestStep] = [PublishTokenStep(server: self, policy: accessPolicy)]
        if let accessPolicy {
            let caller = accessPolicy.callback.map { OutboundAuthCaller(url: $0.url, loop: loop.loop) }
            steps.append(AuthorizationStep(server: self, policy: accessPolicy, loop: loop.loop, caller: caller))
        }
        if let store = hub.store { steps.append(HistoryStep(hub: hub, store: store, loop: loop.loop)) }
        return steps
    }

    /// CORS headers for a request from `origin`, when `--cors` allows it.
    func corsHeaders(for head: RequestHead) -> [(name: String, value: String)] {
        guard let allowed = configuration.corsOrigin, let origin = head.header("Origin") else { return [] }
        if allowed == "*" { return [("Access-Control-Allow-Origin", "*")] }
        guard origin == allowed else { return [] }
        return [("Access-Control-Allow-Origin", origin), ("Vary", "Origin")]
    }

    /// True when publishing needs no token, or the request carries the right one.
    func isAuthorized(_ head: RequestHead) -> Bool {
        guard let token = configuration.publishToken, !token.isEmpty else { return true }
        guard let value = head.header("Authorization"), value.count > 7, value.prefix(7).lowercased() == "bearer " else {
            return false
        }
        return Self.constantTimeEquals(Array(value.dropFirst(7).utf8), Array(token.utf8))
    }

    static func constantTimeEquals(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for i in 0..<a.count { difference |= a[i] ^ b[i] }
        return difference == 0
    }
}
