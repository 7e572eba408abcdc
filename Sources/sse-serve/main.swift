import App
import Foundation
import Glibc

// sse-serve: parse the command line, start, run until SIGINT/SIGTERM, stop cleanly.

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
