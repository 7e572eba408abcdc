import EventStream
import Feeds
import Glibc
import Reactor
import Server

/// The program: a server and its sources, built from the command line, run until
/// SIGINT or SIGTERM, then stopped cleanly.
public final class Application: @unchecked Sendable {
    public let options: CommandLineOptions
    public let logger: Logger
    public let server: Server
    public private(set) var sources: [any Source] = []

    public init(options: CommandLineOptions, logger: Logger? = nil) {
        self.options = options
        self.logger = logger ?? Logger(level: options.logLevel, format: options.server.logFormat, timestamps: options.logTimestamps)
        server = Server(configuration: options.server, logger: self.logger)
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
