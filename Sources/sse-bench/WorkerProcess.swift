import Glibc

/// A copy of this executable re-run as `sse-bench worker …`, with a pipe to its standard input
/// (commands) and one from its standard output (its `ready` and `result` lines).
final class WorkerProcess {
    let pid: pid_t
    private let commandFd: Int32
    let reportFd: Int32
    private var pending: [UInt8] = []
    /// The worker closed its output (exited): no more lines will come.
    private(set) var exited = false

    init(arguments: [String]) throws(BenchError) {
        var toChild: [Int32] = [0, 0]
        var fromChild: [Int32] = [0, 0]
        // pipe2 needs _GNU_SOURCE, which Glibc's module does not define: pipe, then close-on-exec.
        guard pipe(&toChild) == 0 else { throw .system("pipe", errno) }
        guard pipe(&fromChild) == 0 else { throw .system("pipe", errno) }
        for fd in toChild + fromChild { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        // dup2 onto 0 and 1 clears close-on-exec there, so only these two ends reach the worker.
        posix_spawn_file_actions_adddup2(&actions, toChild[0], 0)
        posix_spawn_file_actions_adddup2(&actions, fromChild[1], 1)
        let exe = WorkerProcess.executablePath()
        let argv: [UnsafeMutablePointer<CChar>?] = ([exe] + arguments).map { strdup($0) } + [nil]
        defer { for a in argv { free(a) } }
        var child: pid_t = 0
        let rc = posix_spawn(&child, exe, &actions, nil, argv, environ)
        close(toChild[0])
        close(fromChild[1])
        guard rc == 0 else {
            close(toChild[1])
            close(fromChild[0])
            throw .system("posix_spawn(\(exe))", rc)
        }
        pid = child
        commandFd = toChild[1]
        reportFd = fromChild[0]
    }

    static func executablePath() -> String {
        var buf = [CChar](repeating: 0, count: 4096)
        let n = readlink("/proc/self/exe", &buf, 4095)
        return n > 0 ? String(decoding: buf[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self) : CommandLine.arguments[0]
    }

    func send(_ line: String) {
        var bytes = Array((line + "\n").utf8)
        _ = bytes.withUnsafeMutableBytes { Sockets.writeAll(commandFd, UnsafeRawBufferPointer($0)) }
    }

    /// The next line the worker writes, or nil if none comes before `deadline` (monotonic ns) or
    /// the worker exits.
    func readLine(deadline: Int64) -> String? {
        while true {
            if let nl = pending.firstIndex(of: 0x0A) {
                let line = String(decoding: pending[0..<nl], as: UTF8.self)
                pending.removeFirst(nl + 1)
                return line
            }
            let left = (deadline - Clocks.monoNanos()) / 1_000_000
            if left <= 0 || exited { return nil }
            var pfd = pollfd(fd: reportFd, events: Int16(POLLIN), revents: 0)
            let r = poll(&pfd, 1, Int32(min(left, 1000)))
            if r < 0 && errno != EINTR { return nil }
            if r <= 0 { continue }
            var chunk = [UInt8](repeating: 0, count: 65536)
            let n = chunk.withUnsafeMutableBytes { read(reportFd, $0.baseAddress, 65536) }
            if n <= 0 { exited = true; return nil }
            pending += chunk[0..<n]
        }
    }

    /// Closes its command pipe (which ends the worker if it still runs), then reaps it, killing
    /// it if it has not exited within `graceMs`.
    func finish(graceMs: Int = 3000) {
        close(commandFd)
        var status: Int32 = 0
        let until = Clocks.monoNanos() + Int64(graceMs) * 1_000_000
        while Clocks.monoNanos() < until {
            if waitpid(pid, &status, WNOHANG) == pid { close(reportFd); return }
            usleep(10_000)
        }
        kill(pid, SIGKILL)
        waitpid(pid, &status, 0)
        close(reportFd)
    }
}

/// Parses a worker's `word key=value key=value …` line.
struct WorkerLine {
    let kind: Substring
    let values: [Substring: Substring]

    init(_ line: String) {
        let words = line.split(separator: " ")
        kind = words.first ?? ""
        var v: [Substring: Substring] = [:]
        for w in words.dropFirst() {
            if let eq = w.firstIndex(of: "=") { v[w[w.startIndex..<eq]] = w[w.index(after: eq)...] }
        }
        values = v
    }

    func int(_ key: Substring) -> Int64 { values[key].flatMap { Int64($0) } ?? 0 }
}
