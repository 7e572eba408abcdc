import App
import Foundation
import Glibc

// sse-serve: parse the command line, start, run until SIGINT/SIGTERM, stop cleanly.

let arguments = Array(CommandLine.arguments.dropFirst())
var isDirectory: ObjCBool = false
let publicDefault = FileManager.default.fileExists(atPath: "public", isDirectory: &isDirectory) && isDirectory.boolValue ? "public" : nil

let options: CommandLineOptions
do {
    options = try CommandLineOptions.parse(arguments, environment: ProcessInfo.processInfo.environment, publicDefault: publicDefault)
} catch {
    FileHandle.standardError.write("sse-serve: \(error)\ntry 'sse-serve --help'\n".data(using: .utf8)!)
    exit(2)
}
if options.showHelp {
    print(CommandLineOptions.help)
    exit(0)
}
if options.showVersion {
    print(CommandLineOptions.version)
    exit(0)
}

Application.blockTerminationSignals()
let app = Application(options: options)
do {
    try app.start()
} catch {
    FileHandle.standardError.write("sse-serve: error: \(error.message)\n".data(using: .utf8)!)
    exit(error.exitCode)
}
let signalName = Application.waitForSignal()
app.logger.info("\(signalName): shutting down")
app.stop()
exit(0)
