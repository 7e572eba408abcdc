import Foundation
import Glibc
import RESP
import Reactor

/// A `redis-server` child process for tests: its own temporary directory and
/// unix socket (and a TCP port on 127.0.0.1 when asked), no persistence unless
/// asked, started and ready (it answers `PING`) when `init` returns, killed
/// when the object goes away. Stop (SIGKILL), pause (SIGSTOP), resume
/// (SIGCONT) and restart (same directory, same data) are the faults tests play.
public final class RedisServer: @unchecked Sendable {
    public let directory: String
    public let password: String?
    /// The TCP port, when started with `tcp: true`.
    public let port: Int?
    public let persistent: Bool
    private let extraArguments: [String]
    public private(set) var pid: pid_t = 0

    public var socketPath: String { directory + "/redis.sock" }
    /// The unix socket's URL, with the password when there is one.
    public var url: RedisURL { RedisURL(endpoint: .unix(path: socketPath), password: password) }
    /// The TCP URL (nil without `tcp: true`).
    public var tcpURL: RedisURL? { port.map { RedisURL(endpoint: .tcp(host: "127.0.0.1", port: $0), password: password) } }

    /// Starts a server and waits (at most 10 s) until it answers.
    /// - Parameters:
    ///   - password: `--requirepass`.
    ///   - tcp: also listen on a free port on 127.0.0.1.
    ///   - persistent: append-only file fsynced on every write, so a restart after SIGKILL keeps everything.
    ///   - arguments: more `redis-server` options, e.g. `["--maxmemory", "10mb"]`.
    public init(password: String? = nil, tcp: Bool = false, persistent: Bool = false, arguments: [String] = []) throws {
        var template = Array("/tmp/redis-test-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw TestKitError("mkdtemp: \(String(cString: strerror(errno)))") }
        directory = String(cString: made)
        self.password = password
        self.persistent = persistent
        self.extraArguments = arguments
        port = tcp ? try Self.freePort() : nil
        try start()
    }

    deinit {
        stop()
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// A port nothing listens on right now (bound, read back and closed).
    public static func freePort() throws -> Int {
        let (fd, port) = try Socket.listen(host: "127.0.0.1", port: 0)
        Socket.close(fd)
        return port
    }

    private var arguments: [String] {
        var list = [
            "redis-server", "--port", String(port ?? 0), "--bind", "127.0.0.1",
            "--unixsocket", socketPath, "--unixsocketperm", "700",
            "--dir", directory, "--logfile", directory + "/redis.log",
            "--daemonize", "no", "--save", "",
        ]
        list += persistent ? ["--appendonly", "yes", "--appendfsync", "always"] : ["--appendonly", "no"]
        if let password { list += ["--requirepass", password] }
        return list + extraArguments
    }

    private func start() throws {
        unlink(socketPath)
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        let argv = arguments.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var child: pid_t = 0
        let rc = posix_spawnp(&child, "redis-server", &actions, nil, argv, environ)
        guard rc == 0 else { throw TestKitError("posix_spawnp(redis-server): \(String(cString: strerror(rc))) (is redis-server installed?)") }
        pid = child
        let deadline = Clock.monotonicNanos() + 10_000_000_000
        while Clock.monotonicNanos() < deadline {
            var status: Int32 = 0
            if waitpid(pid, &status, WNOHANG) == pid {
                pid = 0
                throw TestKitError("redis-server exited at start: \(log.suffix(600))")
            }
            // Not while it answers LOADING: it is ready once PING gets PONG.
            if (try? command(["PING"], timeoutSeconds: 1)) == .simpleString("PONG") { return }
            usleep(10_000)
        }
        stop()
        throw TestKitError("redis-server did not answer PING within 10 s: \(log.suffix(600))")
    }

    /// The server's log, for failure messages.
    public var log: String {
        (try? String(contentsOfFile: directory + "/redis.log", encoding: .utf8)) ?? ""
    }

    /// Kills the server at once (SIGKILL) and reaps it.
    public func stop() {
        guard pid > 0 else { return }
        kill(pid, SIGKILL)
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        pid = 0
    }

    /// Freezes the server (SIGSTOP): connections are accepted by the kernel, nothing answers.
    public func pause() { if pid > 0 { kill(pid, SIGSTOP) } }

    /// Lets a paused server run again (SIGCONT).
    public func resume() { if pid > 0 { kill(pid, SIGCONT) } }

    /// Kills the server and starts it again in the same directory: with its
    /// data when persistent, empty otherwise (or with `wipe`).
    public func restart(wipe: Bool = false) throws {
        stop()
        if wipe {
            for name in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [] where name != "redis.log" {
                try? FileManager.default.removeItem(atPath: directory + "/" + name)
            }
        }
        try start()
    }

    /// Sends one command over a fresh blocking connection (logging in first)
    /// and returns the reply; for tests to look at or change the data directly.
    @discardableResult
    public func command(_ arguments: [String], database: Int = 0, timeoutSeconds: Int = 5) throws -> RESPValue {
        var commands: [[String]] = []
        if let password { commands.append(["AUTH", password]) }
        if database != 0 { commands.append(["SELECT", String(database)]) }
        commands.append(arguments)
        let replies = try Self.exchange(socketPath: socketPath, commands, timeoutSeconds: timeoutSeconds)
        for (index, reply) in replies.dropLast().enumerated() {
            if case .error(let text) = reply { throw TestKitError("\(commands[index][0]): \(text)") }
        }
        return replies.last!
    }

    /// Writes `commands` on one unix-socket connection and reads one reply for each.
    static func exchange(socketPath: String, _ commands: [[String]], timeoutSeconds: Int) throws -> [RESPValue] {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw TestKitError("socket: \(String(cString: strerror(errno)))") }
        defer { Glibc.close(fd) }
        var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let address = try SocketAddress.unix(path: socketPath)
        guard address.withSockaddr({ Glibc.connect(fd, $0, $1) }) == 0 else {
            throw TestKitError("connect(\(socketPath)): \(String(cString: strerror(errno)))")
        }
        var bytes: [UInt8] = []
        for command in commands { RESPCommand.append(command, to: &bytes) }
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { throw TestKitError("send: \(String(cString: strerror(errno)))") }
            sent += n
        }
        var reader = RESPReader()
        var replies: [RESPValue] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while replies.count < commands.count {
            switch reader.next() {
            case .value(let value):
                replies.append(value)
                continue
            case .failure(let error): throw TestKitError("\(error)")
            case .needMore: break
            }
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            guard n > 0 else { throw TestKitError(n == 0 ? "redis closed the connection" : "recv: \(String(cString: strerror(errno)))") }
            reader.feed(buffer[0..<n])
        }
        return replies
    }
}

/// A test helper that could not do its job, and why.
public struct TestKitError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
