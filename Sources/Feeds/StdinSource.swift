import CShim
import EventStream
import Glibc
import Reactor

/// Standard input, one event per record (`cmd | sse-serve`). At the end of
/// input it says so on standard error and the server keeps serving.
public final class StdinSource: Source {
    public static let defaultChannel = "stdin"

    static let kind = SourceKind(
        name: "stdin", usage: "stdin[@CHANNEL]", summary: "standard input, one event per record (see --format)",
        argument: .none,
        defaultChannel: { _ in defaultChannel },
        make: { spec, options in StdinSource(channel: spec.channel, options: options, name: spec.description) })

    public let name: String
    public let channel: String
    private let options: SourceOptions
    private let thread = SourceThread()

    /// Reads `options.standardInput` (0 unless a test gives it a pipe); the descriptor is not closed.
    public init(channel: String = StdinSource.defaultChannel, options: SourceOptions = SourceOptions(), name: String? = nil) {
        self.channel = channel
        self.options = options
        self.name = name ?? "stdin@\(channel)"
    }

    public func start(hub: Hub, logger: Logger) throws(SourceError) {
        let publisher = RecordPublisher(
            hub: hub, channel: channel, logger: logger, sourceName: name, format: options.format,
            maxRecordBytes: options.maxRecordBytes)
        let (fd, name, thread) = (options.standardInput, self.name, self.thread)
        guard thread.start(name: name, { StdinSource.run(fd: fd, publisher: publisher, thread: thread) }) else {
            throw SourceError("\(name): already started")
        }
    }

    public func stop() { thread.requestStop() }

    public func waitUntilStopped(timeout: Double) -> Bool { thread.waitFinished(timeout: timeout) }

    private static func run(fd: Int32, publisher: RecordPublisher, thread: SourceThread) {
        var publisher = publisher
        let logger = publisher.logger
        let size = 256 * 1024
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: size, alignment: 16)
        defer { buffer.deallocate() }
        while true {
            // Poll first so that a stop is seen even while the writer is silent.
            var fds = [
                pollfd(fd: fd, events: Int16(POLLIN), revents: 0),
                pollfd(fd: thread.stopFD, events: Int16(POLLIN), revents: 0),
            ]
            let ready = poll(&fds, 2, thread.stopFD >= 0 ? -1 : 100)
            if ready < 0 && errno != EINTR {
                logger.error("\(publisher.sourceName): \(SystemError("poll"))")
                return
            }
            if thread.isStopping { return }
            if ready <= 0 || fds[0].revents == 0 { continue }
            let n = read(fd, buffer.baseAddress, size)
            if n > 0 {
                if !publisher.consume(UnsafeRawBufferPointer(rebasing: buffer[0..<n])) { return }
            } else if n == 0 {
                publisher.finish()
                logger.info(
                    "\(publisher.sourceName): end of input after \(publisher.published) events"
                        + (publisher.malformed > 0 ? " (\(publisher.malformed) malformed records skipped)" : "")
                        + "; still serving")
                return
            } else if errno != EINTR && errno != EAGAIN {
                publisher.finish()
                logger.error("\(publisher.sourceName): \(SystemError("read"))")
                return
            }
        }
    }
}
