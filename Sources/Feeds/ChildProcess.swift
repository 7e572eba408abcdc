import Glibc
import Reactor

/// A `/bin/sh -c COMMAND` child in a process group of its own, with its
/// standard output and standard error as pipes and /dev/null as its input.
///
/// Its own group lets the source signal the shell and everything it started
/// in one `kill(-pgid)`. The signal mask is cleared and common signals reset
/// to their defaults in the child, since the server blocks SIGTERM/SIGINT for
/// `sigwait` and ignores SIGPIPE, and a child would inherit both.
final class ChildProcess {
    let pid: pid_t
    /// Read ends (non-blocking); -1 once closed.
    var stdout: Int32
    var stderr: Int32
    private var reaped = false

    private init(pid: pid_t, stdout: Int32, stderr: Int32) {
        self.pid = pid
        self.stdout = stdout
        self.stderr = stderr
    }

    /// Glibc does not export pipe2, so pipes are made close-on-exec in two steps;
    /// this lock keeps another exec source's spawn out of the gap between them.
    private static let spawnLock = Lock()

    static func spawn(command: String) throws(SourceError) -> ChildProcess {
        try spawnLock.withLock { () throws(SourceError) -> ChildProcess in try spawnLocked(command: command) }
    }

    private static func makePipe() throws(SourceError) -> [Int32] {
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else { throw SourceError("exec: \(SystemError("pipe"))") }
        // Close-on-exec: the child gets only the dup2'd copies, so our read ends see EOF when it is done.
        _ = fcntl(fds[0], F_SETFD, FD_CLOEXEC)
        _ = fcntl(fds[1], F_SETFD, FD_CLOEXEC)
        return fds
    }

    private static func spawnLocked(command: String) throws(SourceError) -> ChildProcess {
        let out = try makePipe()
        let err: [Int32]
        do {
            err = try makePipe()
        } catch {
            close(out[0])
            close(out[1])
            throw error
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, out[1], 1)
        posix_spawn_file_actions_adddup2(&actions, err[1], 2)

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        posix_spawnattr_setpgroup(&attributes, 0)
        var mask = sigset_t()
        sigemptyset(&mask)
        posix_spawnattr_setsigmask(&attributes, &mask)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGCHLD, SIGUSR1, SIGUSR2, SIGALRM] {
            sigaddset(&defaults, signal)
        }
        posix_spawnattr_setsigdefault(&attributes, &defaults)

        let argv: [UnsafeMutablePointer<CChar>?] = [strdup("/bin/sh"), strdup("-c"), strdup(command), nil]
        defer { for arg in argv { free(arg) } }
        var pid: pid_t = 0
        let status = posix_spawn(&pid, "/bin/sh", &actions, &attributes, argv, environ)
        close(out[1])
        close(err[1])
        guard status == 0 else {
            close(out[0])
            close(err[0])
            throw SourceError("exec: \(SystemError("posix_spawn(/bin/sh)", errno: status))")
        }
        _ = fcntl(out[0], F_SETFL, O_NONBLOCK)
        _ = fcntl(err[0], F_SETFL, O_NONBLOCK)
        return ChildProcess(pid: pid, stdout: out[0], stderr: err[0])
    }

    /// True once the shell has exited. It is not reaped here (WNOWAIT): while
    /// it is a zombie its pid cannot be reused, so `kill(-pid)` cannot hit a
    /// stranger's process group.
    var hasExited: Bool {
        if reaped { return true }
        var info = siginfo_t()
        let r = waitid(P_PID, id_t(pid), &info, WEXITED | WNOHANG | WNOWAIT)
        if r != 0 { return errno == ECHILD }  // reaped behind our back (SIGCHLD ignored)
        return info.si_signo == SIGCHLD
    }

    /// Signals the whole group: the shell and everything it started.
    func signalGroup(_ signal: Int32) {
        if !reaped { _ = kill(-pid, signal) }
    }

    /// Waits for the shell's exit and returns a description of how it ended.
    func reap() -> String {
        if reaped { return "ended" }
        var status: Int32 = 0
        var r: pid_t
        repeat { r = waitpid(pid, &status, 0) } while r < 0 && errno == EINTR
        reaped = true
        if r < 0 { return "ended" }
        if status & 0x7F == 0 { return "exited with status \((status >> 8) & 0xFF)" }
        return "was killed by signal \(status & 0x7F)"
    }

    func closePipes() {
        if stdout >= 0 { close(stdout) }
        if stderr >= 0 { close(stderr) }
        stdout = -1
        stderr = -1
    }

    deinit {
        closePipes()
        if !reaped {
            kill(-pid, SIGKILL)
            _ = reap()
        }
    }
}
