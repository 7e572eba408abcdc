import Dispatch
import EventStream
import Foundation
import Presence
import Reactor
import Synchronization

/// The HTTP server: binds, runs one event loop per thread, and stops cleanly.
public final class Server: @unchecked Sendable {
    public let configuration: ServerConfiguration
    public let hub: Hub
    let context: ServerContext
    private let logger: Logger
    private(set) var loops: [LoopContext] = []
    private var listenerFD: Int32 = -1
    private let exited = DispatchSemaphore(value: 0)
    private let drained = DispatchSemaphore(value: 0)
    private let drainStarted = Atomic<Bool>(false)
    /// Why `--access-log` could not be opened; `start` refuses to run then.
    public private(set) var accessLogFailure: String?
    /// Why the access-control options cannot work (a bad `--protect` glob); nil when fine.
    public private(set) var accessPolicyFailure: String?
    /// The port actually bound (the real one when configured with 0).
    public private(set) var port = 0

    /// Where the loops read the time; a `ManualClock` lets tests run timeouts.
    private let clock: any LoopClock

    /// - Parameters:
    ///   - store: where events are numbered and kept when not only in memory.
    ///   - clock: the loops' clock (tests inject one).
    ///   - sharedPresence: presence kept with other nodes (`--redis`); nil: this node's alone.
    public init(
        configuration: ServerConfiguration, logger: Logger, store: EventStore? = nil, clock: any LoopClock = SystemClock(),
        sharedPresence: (any SharedPresence)? = nil
    ) {
        self.configuration = configuration
        self.logger = logger
        self.clock = clock
        hub = Hub(
            bufferSize: configuration.bufferSize, groupCount: max(1, min(configuration.loopCount, 64)),
            limits: HubLimits(maxChannels: configuration.maxChannels, maxMemory: configuration.maxMemory), store: store)
        var files: StaticFiles? = nil
        if let directory = configuration.publicDirectory {
            files = StaticFiles(directory: directory)
            // The command line refuses a folder that is not there; this is one that went away since.
            if files == nil { logger.warning("--public \(directory): no such folder; serving no static files") }
        }
        var accessLog: AccessLog? = nil
        if let path = configuration.accessLogPath {
            do {
                accessLog = try AccessLog(path: path, format: configuration.logFormat)
            } catch {
                accessLogFailure = "--access-log: \(error)"
            }
        }
        var policy: AccessPolicy? = nil
        do {
            policy = try AccessPolicy(configuration: configuration)
        } catch {
            accessPolicyFailure = error.description
        }
        context = ServerContext(
            configuration: configuration, hub: hub, logger: logger, staticFiles: files, accessLog: accessLog, accessPolicy: policy,
            presence: PresenceService(configuration: configuration, hub: hub, clock: clock, logger: logger, shared: sharedPresence))
    }

    /// `http://HOST:PORT` as a client would type it.
    public var url: String {
        let host = configuration.host.contains(":") ? "[\(configuration.host)]" : configuration.host
        return "http://\(host):\(port)"
    }

    /// Binds the socket and starts the loops; returns once it accepts connections.
    public func start() throws(SystemError) {
        if accessLogFailure != nil { throw SystemError("access log", errno: EACCES, detail: accessLogFailure) }
        if accessPolicyFailure != nil { throw SystemError("access control", errno: EINVAL, detail: accessPolicyFailure) }
        let (fd, boundPort) = try Socket.listen(host: configuration.host, port: configuration.port, reusePort: configuration.reusePort)
        listenerFD = fd
        port = boundPort
        for index in 0..<hub.groupCount {
            let loop = try EventLoop(index: index, clock: clock)
            let loopContext = LoopContext(loop: loop, group: hub.group(index), server: context)
            loopContext.onDrained = { [drained] in drained.signal() }
            try loopContext.listen(on: fd)
            loops.append(loopContext)
        }
        for loopContext in loops {
            let thread = Thread { [exited] in
                loopContext.loop.run()
                exited.signal()
            }
            thread.name = "loop-\(loopContext.loop.index)"
            thread.stackSize = 1 << 20
            thread.start()
        }
        context.accessLog?.start()
        context.presence?.start()
    }

    /// Ends every open stream cleanly; clients reconnect and replay. Used when
    /// the store's feed lost events this node's subscribers were waiting for.
    public func endAllStreams() {
        for loopContext in loops {
            loopContext.loop.execute { loopContext.endStreams() }
        }
    }

    /// The first step of a stop, at once: no new connections, and publishing is
    /// answered with 503. Streams go on until `shutdown`.
    public func stopAccepting() {
        guard !context.stopping.exchange(true, ordering: .relaxed) else { return }
        hub.close()
        for loopContext in loops {
            loopContext.loop.execute { loopContext.stopAccepting() }
        }
    }

    /// Stops accepting, refuses publishing, delivers every event already accepted,
    /// ends each stream with its final chunk, and returns once all connections are
    /// closed or `grace` seconds have passed.
    public func shutdown(grace: Double = 3) {
        stopAccepting()
        guard !drainStarted.exchange(true, ordering: .relaxed) else { return }
        for loopContext in loops {
            loopContext.loop.execute { loopContext.beginShutdown() }
        }
        let deadline = DispatchTime.now() + grace
        var drainedCount = 0
        while drainedCount < loops.count, drained.wait(timeout: deadline) == .success { drainedCount += 1 }
        if drainedCount < loops.count { logger.info("closing \(context.metrics.connections.load(ordering: .relaxed)) connections that did not finish in time") }
        for loopContext in loops {
            loopContext.loop.execute {
                loopContext.closeAll()
                loopContext.loop.stop()
            }
        }
        for _ in loops { _ = exited.wait(timeout: .now() + 2) }
        // After the loops: their last lines (streams ended by the stop) are in the queue.
        context.accessLog?.stop()
        context.presence?.stop()
        if listenerFD >= 0 {
            Socket.close(listenerFD)
            listenerFD = -1
        }
    }
}
