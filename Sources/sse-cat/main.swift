import Glibc
import StreamClient

// sse-cat: read an event stream and print its events; see `sse-cat --help`.

/// The whole program, as a function: nothing lives in top-level globals.
func runClient() -> Int32 {
    let command: ClientOptions.Command
    do {
        command = try ClientOptions.parse(Array(CommandLine.arguments.dropFirst()))
    } catch {
        let message = Array("sse-cat: \(error)\ntry 'sse-cat --help'\n".utf8)
        _ = message.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
        return 2
    }
    switch command {
    case .help:
        print(ClientOptions.help)
        return 0
    case .version:
        print(ClientOptions.version)
        return 0
    case .run(let options):
        return StreamClient(options: options).run()
    }
}

exit(runClient())
