import EventStream
import Feeds
import Foundation
import Glibc
import RESP
import Reactor
import RedisBackend
import Server

/// The program: a server and its sources, built from the command line, run until
/// SIGINT or SIGTERM, then stopped cleanly.
public final class Application: @unchecked Sendable {
    public let options: CommandLineOptions
    public let logger: Logger
    public let server: Server
    public private(set) var sources: [any Source] = []

    /// The shared store with `--redis`, and the loop it runs on.
    public private(set) var store: RedisStore?
    /// Presence over every node, with `--redis`.
    public private(set) var sharedPresence: RedisPresence?
    private var storeFailure: String?
    private var storeStarted = false

    public init(options: CommandLineOptions, logger: Logger? = nil) {
        self.options = options
        let logger = logger ?? Logger(level: options.logLevel, format: options.server.logFormat, timestamps: options.logTimestamps)
        self.logger = logger
        if let text = options.server.redisURL {
            do {
                let url = try RedisURL(parsing: text)
                var configuration = RedisStore.Configuration(url: url)
                // Redis keeps per channel what a node's ring does: `--buffer` events.
                configuration.log.channelMaxLength = options.server.bufferSize
                let store = try RedisStore(configuration: configuration, loop: try EventLoop(index: 64))
                self.store = store
                var presence = RedisPresence.Configuration()
                presence.ttlMillis = UInt64(options.server.presenceTTLSeconds * 1000)
                presence.leaveGraceMillis = UInt64(options.server.leaveGraceSeconds * 1000)
                sharedPresence = RedisPresence(store: store, configuration: presence)
            } catch let error as RedisURLError {
                storeFailure = error.description
            } catch {
                storeFailure = "--redis: \(error)"
            }
        }
        server = Server(configuration: options.server, logger: logger, store: store, sharedPresence: sharedPresence)
        if let store {
            let hub = server.hub
            store.onEvents = { hub.ingest($0) }
            let server = self.server
            store.onGap = { lost in
                hub.noteFeedGap(lostThrough: lost)
                logger.warning("redis: the log no longer reaches back to where this node was; its streams end and reconnect, and replays from before \(lost.map { "\($0)" } ?? "now") get sse-gap")
                // Live readers would otherwise never hear of what was lost.
                server.endAllStreams()
            }
            store.onAvailabilityChange = { reason in
                if let reason { logger.warning("redis unavailable: \(reason)") } else { logger.info("redis: connected") }
            }
        }
    }

    /// Makes the sources (reporting a bad feed file before anything starts),
    /// binds, prints `listening on …`, and starts the sources.
    public func start(standardInput: Int32 = 0) throws(ApplicationError) {
        var specs = options.sources
        if specs.isEmpty { specs = [SourceSpec.defaultSpec(standardInput: standardInput)] }
        var sourceOptions = SourceOptions(
            format: options.server.format, maxRecordBytes: options.server.maxBody,
            feedsDirectory: options.feedDirectories.first ?? "feeds", standardInput: standardInput)
        sourceOptions.moreFeedsDirectories = Array(options.feedDirectories.dropFirst())
        do {
            sources = try specs.map { spec throws(SourceError) in try spec.makeSource(options: sourceOptions) }
        } catch {
            throw ApplicationError(message: error.description, exitCode: 2)
        }
        if let failure = server.accessLogFailure { throw ApplicationError(message: failure, exitCode: 2) }
        if let failure = server.accessPolicyFailure { throw ApplicationError(message: failure, exitCode: 2) }
        if let storeFailure { throw ApplicationError(message: storeFailure, exitCode: 2) }
        startStore()
        do {
            try server.start()
        } catch {
            throw ApplicationError(message: "cannot listen: \(error)", exitCode: 1)
        }
        logger.always("listening on \(server.url)")
        logResources()
        for source in sources {
            do {
                try source.start(hub: server.hub, logger: logger)
                logger.info("source \(source.name) started on channel \(source.channel)")
            } catch {
                logger.error("source \(source.name): \(error)")
            }
        }
    }

    /// With `-v`: which dashboard is served and where feeds are looked for.
    private func logResources() {
        guard logger.enabled(.debug) else { return }
        if let directory = options.server.publicDirectory {
            logger.debug("dashboard: \(directory) (\(options.publicOrigin ?? "given"))")
        } else {
            logger.debug("no dashboard: no --public folder was found (looked in ./public and the share folder beside the binary); / answers 404; give one with --public DIR")
        }
        logger.debug("feeds looked for in: \(options.feedDirectories.joined(separator: ", "))")
    }

    /// Stops accepting and publishing at once, then stops the sources, then the
    /// server (which delivers what was accepted and ends every stream).
    public func stop() {
        server.stopAccepting()
        sources.stopAll(timeout: 2)
        server.shutdown(grace: 3)
        stopStore()
    }

    /// Starts the shared store's loop and its feed (with `--redis`).
    public func startStore() {
        guard let store, !storeStarted else { return }
        storeStarted = true
        let loop = store.loop
        let thread = Thread { loop.run() }
        thread.name = "redis"
        thread.start()
        // Everything the log still holds comes in: the caches start warm.
        store.start(from: .zero)
    }

    public func stopStore() {
        guard let store, storeStarted else { return }
        storeStarted = false
        store.stop()
        store.loop.stop()
    }

    /// Blocks SIGINT and SIGTERM in every thread started after this call, so
    /// that `waitForSignal` receives them.
    public static func blockTerminationSignals() {
        signal(SIGPIPE, SIG_IGN)
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGINT)
        sigaddset(&set, SIGTERM)
        pthread_sigmask(SIG_BLOCK, &set, nil)
    }

    /// Waits for SIGINT or SIGTERM; returns the signal's name.
    public static func waitForSignal() -> String {
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGINT)
        sigaddset(&set, SIGTERM)
        var received: Int32 = 0
        while sigwait(&set, &received) != 0 {}
        return received == SIGINT ? "SIGINT" : "SIGTERM"
    }
}

/// Why the program could not start, with the exit status to use.
public struct ApplicationError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public var exitCode: Int32
    public var description: String { message }
}
