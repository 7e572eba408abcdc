import Glibc
import Reactor

/// A `/bin/sh -c COMMAND` child in a process group of its own, with its
/// standard output and standard error as pipes and /dev/null as its input,
/// and a watcher in the same group that ends the group if the server dies.
///
/// Its own group lets the source signal the shell and everything it started
/// in one `kill(-pgid)`. The signal mask is cleared and common signals reset
/// to their defaults in the child, since the server blocks SIGTERM/SIGINT for
/// `sigwait` and ignores SIGPIPE, and a child would inherit both.
///
/// Why a watcher, and not `PR_SET_PDEATHSIG`: the death signal reaches only the
/// shell, never what the command started (`sleep 60 &`, a pipeline's other
/// members), which would live on under init; it would also need fork + prctl
/// in Swift between fork and exec (posix_spawn has no hook for it), and it fires
/// when the *thread* that spawned exits, not the process. The watcher is
/// `/bin/sh -c 'read x; kill -9 0'` in the command's group, reading a pipe
/// whose only write end is the server's (close-on-exec, so no other child holds
/// it). However the server ends (SIGKILL, a crash), the kernel closes that end,
/// the read sees EOF, and the watcher kills its group: the shell, everything it
/// started that stayed in the group, and itself. A normal stop signals the group
/// as before, which ends the watcher with it; it is reaped with the shell.
final class ChildProcess {
    /// The shell.
    let pid: pid_t
    /// Its process group: the watcher's pid (or the shell's, when there is no watcher).
    let group: pid_t
    /// Read ends (non-blocking); -1 once closed.
    var stdout: Int32
    var stderr: Int32
    /// The watcher's pid (0 if it could not be started) and the write end of its pipe.
    private let watcher: pid_t
    private var lifeline: Int32
    private var reaped = false

    private init(pid: pid_t, group: pid_t, stdout: Int32, stderr: Int32, watcher: pid_t, lifeline: Int32) {
        self.pid = pid
        self.group = group
        self.stdout = stdout
        self.stderr = stderr
        self.watcher = watcher
        self.lifeline = lifeline
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
        // The watcher first, leading the group, so that there is no moment when
        // the shell runs unguarded; without one (no descriptors, no process
        // slot) the command still runs and a normal stop still ends it: only a
        // server killed outright would leave it behind.
        var watcher: pid_t = 0
        var lifeline: Int32 = -1
        if let pipe = try? makePipe() {
            watcher = (try? spawnShell("read x; kill -9 0", stdin: pipe[0], stdout: nil, stderr: nil, group: 0)) ?? 0
            close(pipe[0])
            if watcher > 0 { lifeline = pipe[1] } else { close(pipe[1]) }
        }
        let shell: pid_t
        do {
            shell = try spawnShell(command, stdin: nil, stdout: out[1], stderr: err[1], group: watcher)
        } catch {
            for fd in out + err { close(fd) }
            if watcher > 0 {
                kill(watcher, SIGKILL)
                var ignored: Int32 = 0
                while waitpid(watcher, &ignored, 0) < 0 && errno == EINTR {}
            }
            if lifeline >= 0 { close(lifeline) }
            throw error
        }
        close(out[1])
        close(err[1])
        _ = fcntl(out[0], F_SETFL, O_NONBLOCK)
        _ = fcntl(err[0], F_SETFL, O_NONBLOCK)
        return ChildProcess(
            pid: shell, group: watcher > 0 ? watcher : shell, stdout: out[0], stderr: err[0], watcher: watcher,
            lifeline: lifeline)
    }

    /// Starts `/bin/sh -c command` in process group `group` (0: a new one it leads),
    /// with the given descriptors as 0, 1 and 2 (nil: /dev/null).
    private static func spawnShell(_ command: String, stdin: Int32?, stdout: Int32?, stderr: Int32?, group: pid_t)
        throws(SourceError) -> pid_t
    {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        for (target, fd) in [(Int32(0), stdin), (1, stdout), (2, stderr)] {
            if let fd {
                posix_spawn_file_actions_adddup2(&actions, fd, target)
            } else {
                posix_spawn_file_actions_addopen(&actions, target, "/dev/null", target == 0 ? O_RDONLY : O_WRONLY, 0)
            }
        }

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        posix_spawnattr_setpgroup(&attributes, group)
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
        guard status == 0 else { throw SourceError("exec: \(SystemError("posix_spawn(/bin/sh)", errno: status))") }
        return pid
    }

    /// True once the shell has exited. It is not reaped here (WNOWAIT), nor the
    /// watcher before it: while the group's leader is a zombie its pid cannot be
    /// reused, so `kill(-group)` cannot hit a stranger's process group.
    var hasExited: Bool {
        if reaped { return true }
        var info = siginfo_t()
        let r = waitid(P_PID, id_t(pid), &info, WEXITED | WNOHANG | WNOWAIT)
        if r != 0 { return errno == ECHILD }  // reaped behind our back (SIGCHLD ignored)
        return info.si_signo == SIGCHLD
    }

    /// Signals the whole group: the shell and everything it started.
    func signalGroup(_ signal: Int32) {
        if !reaped { _ = kill(-group, signal) }
    }

    /// Waits for the shell's exit and returns a description of how it ended.
    /// The watcher is ended and reaped first: with the shell gone it has nothing to guard.
    func reap() -> String {
        if reaped { return "ended" }
        if watcher > 0 {
            _ = kill(watcher, SIGKILL)
            var ignored: Int32 = 0
            while waitpid(watcher, &ignored, 0) < 0 && errno == EINTR {}
        }
        if lifeline >= 0 { close(lifeline) }
        lifeline = -1
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
            kill(-group, SIGKILL)
            _ = reap()
        }
    }
}
