import EventStream
import Glibc
import Reactor

/// Runs `/bin/sh -c COMMAND`, one event per record on its standard output;
/// its standard error lines are logged under the source's name.
///
/// When the command exits it is started again after a delay that begins at
/// 1 s and doubles up to 30 s, back to 1 s once a run has lasted 10 s. What
/// the shell left running in its process group is ended with it. On stop the
/// whole group gets SIGTERM, then SIGKILL after the grace period; the shell is
/// always reaped.
public final class ExecSource: Source {
    public static let defaultChannel = "exec"

    static let kind = SourceKind(
        name: "exec", usage: "exec:COMMAND[@CHANNEL]",
        summary: "runs /bin/sh -c COMMAND, one event per stdout record; restarted with backoff when it exits",
        argument: .required,
        defaultChannel: { _ in defaultChannel },
        make: { spec, options in
            ExecSource(command: spec.argument ?? "", channel: spec.channel, options: options, name: spec.description)
        })

    public let name: String
    public let channel: String
    public let command: String
    private let options: SourceOptions
    private let thread = SourceThread()
    /// The running shell's process group, so that `stop` can signal it at once.
    private let group = RunningGroup()
    /// Restart delays (seconds): first, most, and how long a run must last to go back to the first.
    let backoff: (initial: Double, max: Double, resetAfter: Double)

    public convenience init(
        command: String, channel: String = ExecSource.defaultChannel, options: SourceOptions = SourceOptions(),
        name: String? = nil
    ) {
        self.init(command: command, channel: channel, options: options, name: name, backoff: (1, 30, 10))
    }

    init(command: String, channel: String, options: SourceOptions, name: String?, backoff: (Double, Double, Double)) {
        self.command = command
        self.channel = channel
        self.options = options
        self.name = name ?? "exec:\(command)@\(channel)"
        self.backoff = backoff
    }

    public func start(hub: Hub, logger: Logger) throws(SourceError) {
        let runner = Runner(
            command: command, hub: hub, logger: logger, name: name, channel: channel, options: options, thread: thread,
            group: group, backoff: backoff)
        guard thread.start(name: name, { runner.run() }) else { throw SourceError("\(name): already started") }
    }

    /// Sends SIGTERM to the command's group right away (so it goes even if the
    /// server exits without waiting), then lets the thread do the SIGKILL and reaping.
    public func stop() {
        thread.requestStop()
        group.signal(SIGTERM)
    }

    public func waitUntilStopped(timeout: Double) -> Bool { thread.waitFinished(timeout: timeout) }
}

/// The process group of the shell an exec source is running, shared between
/// its thread and `stop`. The thread clears it before reaping the shell, so a
/// signal sent through it never reaches a group whose id was reused.
private final class RunningGroup: @unchecked Sendable {
    private let lock = Lock()
    private var pgid: pid_t = 0

    func set(_ id: pid_t) { lock.withLock { pgid = id } }

    func signal(_ signal: Int32) {
        lock.withLock {
            if pgid > 0 { _ = kill(-pgid, signal) }
        }
    }
}

/// The restart loop of one exec source, touched only on its thread.
private final class Runner: @unchecked Sendable {
    let command: String
    let hub: Hub
    let logger: Logger
    let name: String
    let channel: String
    let options: SourceOptions
    let thread: SourceThread
    let group: RunningGroup
    let backoff: (initial: Double, max: Double, resetAfter: Double)
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 256 * 1024, alignment: 16)
    var hubClosed = false

    init(
        command: String, hub: Hub, logger: Logger, name: String, channel: String, options: SourceOptions,
        thread: SourceThread, group: RunningGroup, backoff: (initial: Double, max: Double, resetAfter: Double)
    ) {
        self.group = group
        self.command = command
        self.hub = hub
        self.logger = logger
        self.name = name
        self.channel = channel
        self.options = options
        self.thread = thread
        self.backoff = backoff
    }

    deinit { buffer.deallocate() }

    func run() {
        var delay = backoff.initial
        while !thread.isStopping && !hubClosed {
            let started = Clock.monotonicNanos()
            let outcome: String
            do {
                let child = try ChildProcess.spawn(command: command)
                group.set(child.group)
                // A stop that came while spawning found no group to signal.
                if thread.isStopping { child.signalGroup(SIGTERM) }
                logger.debug("\(name): started pid \(child.pid)")
                outcome = runOnce(child)
            } catch {
                outcome = "could not start: \(error)"
            }
            if thread.isStopping || hubClosed { return }
            if Double(Clock.monotonicNanos() - started) / 1e9 >= backoff.resetAfter { delay = backoff.initial }
            logger.warning("\(name): command \(outcome); restarting in \(formatSeconds(delay))")
            if thread.sleep(seconds: delay) { return }
            delay = min(delay * 2, backoff.max)
        }
    }

    /// Reads the child until it exits (or a stop), then ends its group; returns how it ended.
    private func runOnce(_ child: ChildProcess) -> String {
        var output = RecordPublisher(
            hub: hub, channel: channel, logger: logger, sourceName: name, format: options.format,
            maxRecordBytes: options.maxRecordBytes)
        var errors = RecordParser(format: .line, maxRecordBytes: 4096)
        while !thread.isStopping && !hubClosed && !child.hasExited {
            // The timeout is how soon an exit is noticed when the shell has closed its pipes early.
            pump(child, &output, &errors, timeoutMillis: 200)
        }
        // SIGTERM first: on stop that is the polite request; after a natural
        // exit it ends what the shell left behind in its group.
        child.signalGroup(SIGTERM)
        let grace = thread.isStopping ? options.execGracePeriod : min(options.execGracePeriod, 1)
        let deadline = Clock.monotonicNanos() + UInt64(grace * 1e9)
        while Clock.monotonicNanos() < deadline && !(child.stdout < 0 && child.stderr < 0 && child.hasExited) {
            pump(child, &output, &errors, timeoutMillis: 20)
        }
        child.signalGroup(SIGKILL)
        group.set(0)
        let outcome = child.reap()
        child.closePipes()
        if !hubClosed { hubClosed = !output.finish() }
        flushErrors(&errors)
        return outcome
    }

    /// Waits up to `timeoutMillis` for output and handles what arrived.
    private func pump(_ child: ChildProcess, _ output: inout RecordPublisher, _ errors: inout RecordParser, timeoutMillis: Int32) {
        var fds = [
            pollfd(fd: thread.stopFD, events: Int16(POLLIN), revents: 0),
            pollfd(fd: child.stdout, events: Int16(POLLIN), revents: 0),
            pollfd(fd: child.stderr, events: Int16(POLLIN), revents: 0),
        ]
        // Once stopping, the stop fd is always readable: leave it out so the
        // grace-period loop still sleeps between looks.
        if thread.isStopping { fds[0].fd = -1 }
        _ = poll(&fds, 3, timeoutMillis)
        if fds[1].revents != 0, let bytes = readSome(&child.stdout) {
            if !hubClosed && !output.consume(bytes) { hubClosed = true }
        }
        if fds[2].revents != 0, let bytes = readSome(&child.stderr) {
            let (logger, name) = (self.logger, self.name)
            errors.feed(bytes) { result in
                if case .success(let record) = result { logger.info("\(name): \(record.event.data)") }
            }
        }
    }

    private func flushErrors(_ errors: inout RecordParser) {
        let (logger, name) = (self.logger, self.name)
        errors.finish { result in
            if case .success(let record) = result { logger.info("\(name): \(record.event.data)") }
        }
    }

    /// One read; closes the descriptor (and sets it to -1) at EOF or error.
    private func readSome(_ fd: inout Int32) -> UnsafeRawBufferPointer? {
        guard fd >= 0 else { return nil }
        let n = read(fd, buffer.baseAddress, buffer.count)
        if n > 0 { return UnsafeRawBufferPointer(rebasing: buffer[0..<n]) }
        if n < 0 && (errno == EAGAIN || errno == EINTR) { return nil }
        close(fd)
        fd = -1
        return nil
    }

    private func formatSeconds(_ s: Double) -> String {
        s == s.rounded() ? "\(Int(s)) s" : "\(s) s"
    }
}
