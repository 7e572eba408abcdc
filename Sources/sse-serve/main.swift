import App
import Foundation
import Glibc

// sse-serve: parse the command line, start, run until SIGINT/SIGTERM, stop cleanly.

// The SIGSEGV after SIGTERM that fa01b55 ended (issue 14). Its parent (a96d4bf,
// everything in top-level code) did not crash again on 2026-12-02: 35 runs of
// start, streams, a publish and SIGTERM, with stdin, exec, tail and ticker
// sources, in a debug build and an AddressSanitizer build, all exited 0 and
// ASan reported nothing (TSan not tried). So the cause is not established; what
// this structure rules out for good is each way such a crash can arise here:
// - Top-level variables of main.swift are globals that the top-level code
//   initialises as it runs (no swift_once), visible module-wide, and exit(3)
//   runs while the server's threads may still be running: a global read before
//   its initialiser ran, or while exit was tearing the process down, reads
//   whatever is there, and which global sits where depends on the layout of the
//   structs stored in them (the "depending on struct layout" of fa01b55). Here
//   there is no top-level variable: every value is a local of `runServer`, and
//   `app` outlives `app.stop()`, which waits (a few seconds at most) for the
//   sources' threads and the event loops to end, so in a normal stop nothing of
//   ours still runs during `exit`, and nothing could reach a main.swift global.
// - The termination signals are blocked before anything else runs (Foundation
//   may start helper threads while the options are read): a thread started
//   first would keep SIGTERM unblocked, and the kernel could deliver the signal
//   to it, asynchronously, instead of to `sigwait`. Every thread inherits the
//   mask now, so SIGTERM is only ever a return from `sigwait` on this thread.
/// The whole program, as a function: nothing lives in top-level globals.
func runServer() -> Int32 {
    // First of all, so that every thread started from here on inherits the mask.
    Application.blockTerminationSignals()
    let arguments = Array(CommandLine.arguments.dropFirst())
    let options: CommandLineOptions
    do {
        options = try CommandLineOptions.parse(
            arguments, environment: ProcessInfo.processInfo.environment, resources: ResourceSearch.forThisProcess())
    } catch {
        FileHandle.standardError.write(Data("sse-serve: \(error)\ntry 'sse-serve --help'\n".utf8))
        return 2
    }
    if options.showHelp {
        print(CommandLineOptions.help)
        return 0
    }
    if options.showVersion {
        print(CommandLineOptions.version)
        return 0
    }
    let app = Application(options: options)
    do {
        try app.start()
    } catch {
        app.logger.error(error.message)
        return error.exitCode
    }
    let signalName = Application.waitForSignal()
    app.logger.info("\(signalName): shutting down")
    app.stop()
    return 0
}

exit(runServer())
