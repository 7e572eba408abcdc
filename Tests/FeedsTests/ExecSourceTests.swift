import EventStream
import Foundation
import Glibc
import Reactor
import Testing

@testable import Feeds

private func processExists(_ pid: pid_t) -> Bool {
    kill(pid, 0) == 0
}

@Suite("Exec source")
struct ExecSourceTests {
    @Test("stdout lines become events, stderr lines are logged with the source's name")
    func output() throws {
        let hub = Hub(bufferSize: 100)
        let log = CapturedLog()
        let source = ExecSource(command: "echo one; echo oops >&2; printf 'two\\nthree'; sleep 30", channel: "x")
        try source.start(hub: hub, logger: log.logger)
        defer {
            source.stop()
            _ = source.waitUntilStopped(timeout: 5)
        }
        #expect(waitUntil { datas(hub, "x") == ["one", "two"] })
        #expect(waitUntil { log.text.contains("exec:echo one; echo oops >&2; printf 'two\\nthree'; sleep 30@x: oops") })
    }

    @Test("a command that exits is restarted after a delay; its last partial line counts")
    func restarts() throws {
        let hub = Hub(bufferSize: 100)
        let log = CapturedLog()
        let source = ExecSource(command: "printf run", channel: "r", options: SourceOptions(), name: nil, backoff: (0.1, 0.4, 10))
        try source.start(hub: hub, logger: log.logger)
        defer {
            source.stop()
            _ = source.waitUntilStopped(timeout: 5)
        }
        #expect(waitUntil { datas(hub, "r").count >= 3 })
        #expect(datas(hub, "r").allSatisfy { $0 == "run" })
        #expect(log.text.contains("exited with status 0; restarting in 0.1 s"))
        #expect(log.text.contains("restarting in 0.2 s"))
    }

    @Test("the default restart delay starts at one second")
    func defaultBackoff() throws {
        let hub = Hub(bufferSize: 100)
        let log = CapturedLog()
        let source = ExecSource(command: "exit 3", channel: "d")
        try source.start(hub: hub, logger: log.logger)
        #expect(waitUntil { log.text.contains("exited with status 3; restarting in 1 s") })
        let start = Date()
        source.stop()
        #expect(source.waitUntilStopped(timeout: 2))
        #expect(Date().timeIntervalSince(start) < 0.5)
    }

    @Test("stop ends the whole process group, even children that ignore SIGTERM, and reaps them")
    func stopKillsGroup() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let pidFile = directory.path + "/pids"
        let hub = Hub(bufferSize: 100)
        let command = "sleep 60 & echo $! >> \(pidFile); (trap '' TERM; sleep 60) & echo $! >> \(pidFile); echo $$ >> \(pidFile); echo ready; wait"
        let source = ExecSource(command: command, channel: "g", options: SourceOptions(execGracePeriod: 0.3))
        try source.start(hub: hub, logger: .silent)
        #expect(waitUntil { datas(hub, "g") == ["ready"] })
        let pids = ((try? String(contentsOfFile: pidFile, encoding: .utf8)) ?? "").split(separator: "\n").compactMap { pid_t($0) }
        #expect(pids.count == 3)
        #expect(pids.allSatisfy(processExists))
        let start = Date()
        source.stop()
        #expect(source.waitUntilStopped(timeout: 5))
        #expect(Date().timeIntervalSince(start) < 2)
        // The shell was our child and is reaped; the others are gone with their group.
        #expect(waitUntil(timeout: 2) { !pids.contains(where: processExists) })
    }

    @Test(
        "the command and what it started end when the server is killed with SIGKILL",
        .enabled(if: sseServeBinary() != nil, "needs the sse-serve binary: swift build first"))
    func serverKilled() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let pidFile = directory.path + "/pids"
        let server = Process()
        server.executableURL = sseServeBinary()
        // The pids are written to a temporary name and renamed, so the test never reads half a file.
        server.arguments = [
            "--port", "0", "--quiet",
            "exec:sleep 60 & echo $! $$ > \(pidFile).tmp; mv \(pidFile).tmp \(pidFile); wait",
        ]
        server.standardInput = FileHandle.nullDevice
        server.standardOutput = FileHandle.nullDevice
        server.standardError = FileHandle.nullDevice
        try server.run()
        var pids: [pid_t] = []
        let started = waitUntil(timeout: 10) {
            pids = ((try? String(contentsOfFile: pidFile, encoding: .utf8)) ?? "").split(whereSeparator: \.isWhitespace)
                .compactMap { pid_t($0) }
            return pids.count == 2
        }
        guard started else {
            kill(server.processIdentifier, SIGKILL)
            server.waitUntilExit()
            Issue.record("the exec command never wrote its pids")
            return
        }
        #expect(pids.allSatisfy(isRunning))
        kill(server.processIdentifier, SIGKILL)
        server.waitUntilExit()
        #expect(waitUntil(timeout: 5) { !pids.contains(where: isRunning) }, "sleep and shell \(pids) outlived the server")
        for pid in pids where isRunning(pid) { kill(pid, SIGKILL) }
    }

    @Test("a child's blocked or ignored signals do not leak from the server")
    func cleanSignals() throws {
        var blocked = sigset_t()
        sigemptyset(&blocked)
        sigaddset(&blocked, SIGTERM)
        var previous = sigset_t()
        pthread_sigmask(SIG_BLOCK, &blocked, &previous)
        defer { pthread_sigmask(SIG_SETMASK, &previous, nil) }
        let hub = Hub(bufferSize: 100)
        let source = ExecSource(command: "grep -E '^Sig(Blk|Ign)' /proc/self/status", channel: "s")
        try source.start(hub: hub, logger: .silent)
        defer {
            source.stop()
            _ = source.waitUntilStopped(timeout: 5)
        }
        #expect(waitUntil { datas(hub, "s").count >= 2 })
        let lines = datas(hub, "s")
        #expect(lines.contains { $0.hasPrefix("SigBlk:") && $0.hasSuffix("0000000000000000") })
    }

    @Test("the source ends quietly when the hub shuts down")
    func hubClosed() throws {
        let hub = Hub(bufferSize: 10)
        let source = ExecSource(command: "while true; do echo x; sleep 0.01; done", channel: "c")
        try source.start(hub: hub, logger: .silent)
        #expect(waitUntil { !datas(hub, "c").isEmpty })
        hub.close()
        #expect(source.waitUntilStopped(timeout: 5))
    }

    @Test("--format sse applies to the command's output")
    func sseFormat() throws {
        let hub = Hub(bufferSize: 100)
        let source = ExecSource(
            command: "printf 'event: a\\ndata: 1\\ndata: 2\\n\\n: note\\ndata: 3\\n\\n'; sleep 30", channel: "e",
            options: SourceOptions(format: .sse))
        try source.start(hub: hub, logger: .silent)
        defer {
            source.stop()
            _ = source.waitUntilStopped(timeout: 5)
        }
        #expect(waitUntil { events(hub, "e") == [Seen(type: "a", data: "1\n2"), Seen(type: "message", data: "3")] })
    }
}
