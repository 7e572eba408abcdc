import CShim
import Glibc
import Reactor

/// One pipelined connection to Redis on one event loop, kept open: it logs in
/// (`AUTH`, `SELECT`, a `PING`), sends any number of commands without waiting,
/// matches replies to commands in order, and when the link breaks (end of
/// file, an error, a reply that is not RESP, a command not answered in time)
/// fails every command waiting, closes, and connects again after a backoff of
/// 100 ms doubling to 5 s, with jitter, reporting `.up` and `.down(reason)`.
///
/// Everything happens on the loop's thread: `start`, `send`, `close`, the
/// completions and `onStateChange`. Other threads go through `loop.execute`.
/// While a connection is being opened, commands wait (with their timeouts
/// running) and are written once the login has succeeded; while the link is
/// known to be down they fail at once with `.unavailable`, so a caller can
/// answer its own client quickly.
///
/// A blocking command (`XREAD BLOCK`) holds the connection until it returns:
/// give it a connection of its own and a timeout longer than the block.
public final class RedisClient: EventHandler {
    /// How to reach the server and how patient to be.
    public struct Configuration: Sendable {
        public var url: RedisURL
        /// For opening the socket plus the login.
        public var connectTimeoutNanos: UInt64 = 1_000_000_000
        /// For each command unless `send` says otherwise.
        public var commandTimeoutNanos: UInt64 = 2_000_000_000
        public var minBackoffNanos: UInt64 = 100_000_000
        public var maxBackoffNanos: UInt64 = 5_000_000_000
        public var readerLimits = RESPReader.Limits()

        public init(url: RedisURL) { self.url = url }
    }

    /// What the link is doing, as reported to `onStateChange`.
    public enum State: Equatable, Sendable {
        /// Not connected yet, and no attempt has failed.
        case connecting
        /// Logged in; commands go out at once.
        case up
        /// The last attempt failed, or the link broke; another attempt is scheduled.
        case down(RedisError)
        case closed
    }

    private enum Phase {
        case idle, connecting, loggingIn, up, backoff, closed
    }

    /// A command written (or waiting to be), and who wants its reply.
    private struct Pending {
        let deadline: UInt64
        /// Nil for the login's own commands.
        let done: ((Result<RESPValue, RedisError>) -> Void)?
        /// For the login's commands: which one (`AUTH`, `SELECT`, `PING`).
        let loginStep: String?
    }

    public let configuration: Configuration
    public let loop: EventLoop
    private let address: SocketAddress
    /// Called on the loop when the state changes (not for each failed retry with the same reason).
    public var onStateChange: (State) -> Void = { _ in }
    public private(set) var state: State = .connecting

    private var phase: Phase = .idle
    private var fd: Int32 = -1
    /// Bumped whenever a connection is given up, so late callbacks for it are ignored.
    private var generation = 0
    private var reader: RESPReader
    private var output: [UInt8] = []
    private var written = 0
    /// Commands sent before the login finished, written after it.
    private var held: [UInt8] = []
    private var pending = FIFO<Pending>()
    private var writeArmed = false
    private var timeoutTimer: TimerHandle?
    private var timeoutDeadline: UInt64 = .max
    private var retryTimer: TimerHandle?
    private var backoff: UInt64
    private let readBuffer: UnsafeMutableRawBufferPointer

    /// A client for `address` (already resolved: see `init(configuration:loop:)`).
    public init(configuration: Configuration, address: SocketAddress, loop: EventLoop) {
        self.configuration = configuration
        self.address = address
        self.loop = loop
        reader = RESPReader(limits: configuration.readerLimits)
        backoff = configuration.minBackoffNanos
        readBuffer = .allocate(byteCount: 64 << 10, alignment: 16)
    }

    /// A client for the configuration's URL. A host name is looked up here,
    /// which may block on DNS: call this at start-up, not on a loop.
    public convenience init(configuration: Configuration, loop: EventLoop) throws(RedisError) {
        let address: SocketAddress
        do {
            switch configuration.url.endpoint {
            case .tcp(let host, let port): address = try SocketAddress.resolve(host: host, port: port)
            case .unix(let path): address = try SocketAddress.unix(path: path)
            }
        } catch {
            throw .connectFailed(error.description)
        }
        self.init(configuration: configuration, address: address, loop: loop)
    }

    deinit {
        if fd >= 0 { Glibc.close(fd) }
        readBuffer.deallocate()
    }

    /// Starts connecting. On the loop.
    public func start() {
        loop.assertInLoop()
        guard phase == .idle else { return }
        connect()
    }

    /// Closes for good: waiting commands fail with `.closed`, no reconnect. On the loop.
    public func close() {
        loop.assertInLoop()
        guard phase != .closed else { return }
        if let retryTimer { loop.cancel(retryTimer) }
        retryTimer = nil
        tearDown(.closed, next: .closed)
    }

    /// Commands written or waiting for a reply.
    public var pendingCount: Int { pending.count }

    // MARK: - commands

    /// Sends one command, e.g. `send(["SET", key, value]) { result in ... }`.
    /// `done` runs once, on the loop: with the reply, `.server(text)` for an
    /// error reply, or why there was none. `timeoutNanos` overrides the
    /// configured command timeout (for `XREAD BLOCK`).
    public func send(
        _ arguments: [any RESPArgument], timeoutNanos: UInt64? = nil,
        done: @escaping (Result<RESPValue, RedisError>) -> Void
    ) {
        loop.assertInLoop()
        switch phase {
        case .closed:
            done(.failure(.closed))
            return
        case .backoff:
            if case .down(let reason) = state {
                done(.failure(.unavailable(reason.description)))
            } else {
                done(.failure(.unavailable("reconnecting")))
            }
            return
        case .idle, .connecting, .loggingIn:
            RESPCommand.append(arguments, to: &held)
        case .up:
            RESPCommand.append(arguments, to: &output)
            armWrite()
        }
        let deadline = loop.now &+ (timeoutNanos ?? configuration.commandTimeoutNanos)
        pending.append(Pending(deadline: deadline, done: done, loginStep: nil))
        armTimeout(deadline)
    }

    // MARK: - connecting and logging in

    private func connect() {
        phase = .connecting
        let attempt = generation
        Connector.connect(to: address, on: loop, timeoutNanos: configuration.connectTimeoutNanos) { [weak self] result in
            guard let self, self.generation == attempt, self.phase == .connecting else {
                if case .success(let fd) = result { Glibc.close(fd) }
                return
            }
            switch result {
            case .failure(let error):
                self.tearDown(.connectFailed(error.description), next: .backoff)
            case .success(let fd):
                self.connected(fd)
            }
        }
    }

    private func connected(_ fd: Int32) {
        self.fd = fd
        do {
            try loop.add(fd, events: EPOLLIN.rawValue, handler: self)
        } catch {
            tearDown(.connectFailed(error.description), next: .backoff)
            return
        }
        phase = .loggingIn
        // The login goes first; commands sent meanwhile stay in `held` until it
        // has succeeded, so none runs unauthenticated or in the wrong database.
        var steps: [Pending] = []
        let deadline = loop.now &+ configuration.connectTimeoutNanos
        let url = configuration.url
        if let password = url.password {
            if let user = url.user {
                RESPCommand.append(["AUTH", user, password], to: &output)
            } else {
                RESPCommand.append(["AUTH", password], to: &output)
            }
            steps.append(Pending(deadline: deadline, done: nil, loginStep: "AUTH"))
        }
        if url.database != 0 {
            RESPCommand.append(["SELECT", url.database], to: &output)
            steps.append(Pending(deadline: deadline, done: nil, loginStep: "SELECT"))
        }
        // A connection can be accepted by a server that is not running (stopped,
        // or still loading): up means it answered.
        RESPCommand.append(["PING"], to: &output)
        steps.append(Pending(deadline: deadline, done: nil, loginStep: "PING"))
        var queue = FIFO<Pending>()
        for step in steps { queue.append(step) }
        for command in pending.removeAll() { queue.append(command) }
        pending = queue
        armTimeout(deadline)
        flush()
    }

    private func loggedIn() {
        phase = .up
        backoff = configuration.minBackoffNanos
        if !held.isEmpty {
            output += held
            held.removeAll()
        }
        setState(.up)
        if !output.isEmpty { armWrite() }
    }

    private func setState(_ new: State) {
        guard new != state else { return }
        state = new
        onStateChange(new)
    }

    // MARK: - failing

    /// Gives the connection up: fails every waiting command with `error`, then
    /// either schedules the next attempt (`.backoff`) or stays closed.
    private func tearDown(_ error: RedisError, next: Phase) {
        generation += 1
        if fd >= 0 {
            loop.remove(fd)
            Glibc.close(fd)
            fd = -1
        }
        if let timeoutTimer { loop.cancel(timeoutTimer) }
        timeoutTimer = nil
        timeoutDeadline = .max
        reader = RESPReader(limits: configuration.readerLimits)
        output.removeAll(keepingCapacity: output.capacity <= 1 << 20)
        written = 0
        held.removeAll()
        writeArmed = false
        phase = next
        let failed = pending.removeAll()
        if next == .backoff {
            // Jitter spreads the reconnects of many nodes after a shared outage.
            let delay = backoff / 2 + UInt64.random(in: 0...(backoff / 2))
            backoff = min(backoff * 2, configuration.maxBackoffNanos)
            let attempt = generation
            retryTimer = loop.schedule(after: delay) { [weak self] in
                guard let self, self.generation == attempt, self.phase == .backoff else { return }
                self.retryTimer = nil
                self.connect()
            }
            setState(.down(error))
        } else {
            setState(.closed)
        }
        for command in failed { command.done?(.failure(error)) }
    }

    // MARK: - timeouts

    private func armTimeout(_ deadline: UInt64) {
        guard deadline < timeoutDeadline else { return }
        if let timeoutTimer { loop.cancel(timeoutTimer) }
        timeoutDeadline = deadline
        let now = loop.now
        timeoutTimer = loop.schedule(after: deadline > now ? deadline - now : 0) { [weak self] in
            self?.timeoutFired()
        }
    }

    private func timeoutFired() {
        timeoutTimer = nil
        timeoutDeadline = .max
        let now = loop.now
        var earliest = UInt64.max
        var expired: Pending?
        pending.forEach { command in
            if command.deadline <= now, expired == nil { expired = command }
            earliest = min(earliest, command.deadline)
        }
        if let expired {
            let what = expired.loginStep.map { "\($0) while logging in" } ?? "a command"
            let detail = phase == .connecting ? "connecting to \(address)" : "\(what) on \(address)"
            tearDown(.timeout(detail), next: .backoff)
        } else if earliest != .max {
            armTimeout(earliest)
        }
    }

    // MARK: - the socket

    public func handleEvents(_ events: UInt32) {
        if events & (EPOLLIN.rawValue | EPOLLERR.rawValue | EPOLLHUP.rawValue) != 0 {
            readAvailable()
        }
        if fd >= 0, events & EPOLLOUT.rawValue != 0 {
            flush()
        }
    }

    private func readAvailable() {
        let current = generation
        // A bounded number of reads per wake-up, so one busy link cannot starve the loop.
        for _ in 0..<16 {
            switch Socket.read(fd, into: readBuffer) {
            case .processed(let n):
                reader.feed(UnsafeRawBufferPointer(rebasing: readBuffer[0..<n]))
                deliverReplies()
                guard generation == current else { return }
                if n < readBuffer.count { return }
            case .wouldBlock:
                return
            case .endOfFile:
                tearDown(.connectionLost("closed by the server"), next: .backoff)
                return
            case .failed(let code):
                tearDown(.connectionLost(SystemError("read", errno: code).description), next: .backoff)
                return
            }
        }
    }

    private func deliverReplies() {
        let current = generation
        while generation == current {
            switch reader.next() {
            case .needMore:
                return
            case .failure(let error):
                tearDown(.protocolError(error.message), next: .backoff)
                return
            case .value(let value):
                guard let command = pending.popFirst() else {
                    tearDown(.protocolError("a reply with no command waiting for it"), next: .backoff)
                    return
                }
                if let step = command.loginStep {
                    loginReply(step, value)
                } else if case .error(let text) = value {
                    command.done?(.failure(.server(text)))
                } else {
                    command.done?(.success(value))
                }
            }
        }
    }

    private func loginReply(_ step: String, _ value: RESPValue) {
        if case .error(let text) = value {
            // A server with a password answers NOAUTH to the PING when we sent none.
            let isAuth = step == "AUTH" || text.hasPrefix("NOAUTH") || text.hasPrefix("WRONGPASS")
            tearDown(isAuth ? .authFailed(text) : .server("\(step): \(text)"), next: .backoff)
            return
        }
        if step == "PING" { loggedIn() }
    }

    /// Asks the loop to tell us when the socket can take bytes: every command
    /// sent in one pass of the loop then goes out in one write.
    private func armWrite() {
        guard !writeArmed, fd >= 0 else { return }
        writeArmed = true
        loop.modify(fd, events: EPOLLIN.rawValue | EPOLLOUT.rawValue)
    }

    private func flush() {
        while written < output.count {
            let result = output.withUnsafeBytes { Socket.write(fd, UnsafeRawBufferPointer(rebasing: $0[written...])) }
            switch result {
            case .processed(let n):
                written += n
            case .wouldBlock:
                armWrite()
                return
            case .endOfFile:
                tearDown(.connectionLost("closed by the server"), next: .backoff)
                return
            case .failed(let code):
                tearDown(.connectionLost(SystemError("write", errno: code).description), next: .backoff)
                return
            }
        }
        output.removeAll(keepingCapacity: output.capacity <= 1 << 20)
        written = 0
        if writeArmed {
            writeArmed = false
            loop.modify(fd, events: EPOLLIN.rawValue)
        }
    }
}
