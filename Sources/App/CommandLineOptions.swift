import EventStream
import Feeds
import Reactor
import Server

/// The parsed command line: server configuration, sources, log level, or a
/// request for help or the version.
public struct CommandLineOptions: Sendable {
    public var server = ServerConfiguration()
    public var sources: [SourceSpec] = []
    public var logLevel = Logger.Level.info
    public var showHelp = false
    public var showVersion = false

    public static let version = "sse-serve 0.1.0"

    /// An argument the program cannot use, with the message for standard error.
    public struct UsageError: Error, CustomStringConvertible, Sendable {
        public var message: String
        public var description: String { message }
    }

    /// Parses the arguments after the program name. `environment` supplies
    /// `SSE_PUBLISH_TOKEN`; `publicDefault` is `./public` when it exists.
    public static func parse(
        _ arguments: [String], environment: [String: String] = [:], publicDefault: String? = nil
    ) throws(UsageError) -> CommandLineOptions {
        var options = CommandLineOptions()
        options.server.publicDirectory = publicDefault
        options.server.publishToken = environment["SSE_PUBLISH_TOKEN"].flatMap { $0.isEmpty ? nil : $0 }
        var specs: [String] = []
        var index = 0
        var onlySources = false

        func fail(_ message: String) -> UsageError { UsageError(message: message) }

        while index < arguments.count {
            let argument = arguments[index]
            index += 1
            if onlySources || !argument.hasPrefix("-") || argument == "-" {
                specs.append(argument)
                continue
            }
            if argument == "--" {
                onlySources = true
                continue
            }
            var name = argument
            var inlineValue: String? = nil
            if let equals = argument.firstIndex(of: "="), argument.hasPrefix("--") {
                name = String(argument[..<equals])
                inlineValue = String(argument[argument.index(after: equals)...])
            }
            func value() throws(UsageError) -> String {
                if let inlineValue { return inlineValue }
                guard index < arguments.count else { throw fail("\(name) needs a value") }
                index += 1
                return arguments[index - 1]
            }
            func integer(_ range: ClosedRange<Int>) throws(UsageError) -> Int {
                let text = try value()
                guard let number = Int(text), range.contains(number) else {
                    throw fail("\(name): expected a whole number from \(range.lowerBound) to \(range.upperBound), got '\(text)'")
                }
                return number
            }
            func seconds() throws(UsageError) -> Double {
                let text = try value()
                guard let number = Double(text), number >= 0, number <= 86_400 * 365 else {
                    throw fail("\(name): expected seconds (a number ≥ 0), got '\(text)'")
                }
                return number
            }
            switch name {
            case "-h", "--help": options.showHelp = true
            case "-V", "--version": options.showVersion = true
            case "-q", "--quiet": options.logLevel = .warning
            case "-v", "--verbose": options.logLevel = .debug
            case "--host": options.server.host = try value()
            case "-p", "--port": options.server.port = try integer(0...65535)
            case "--public":
                let dir = try value()
                options.server.publicDirectory = dir.isEmpty ? nil : dir
            case "--buffer": options.server.bufferSize = try integer(1...100_000_000)
            case "--retry": options.server.retryMilliseconds = try integer(0...86_400_000)
            case "--heartbeat": options.server.heartbeatSeconds = try seconds()
            case "--format":
                let text = try value()
                guard let format = RecordFormat(rawValue: text) else { throw fail("--format: expected line, sse or json, got '\(text)'") }
                options.server.format = format
            case "--cors": options.server.corsOrigin = try value()
            case "--publish-token":
                let token = try value()
                options.server.publishToken = token.isEmpty ? nil : token
            case "--gzip": options.server.gzip = true
            case "--max-clients": options.server.maxClients = try integer(1...10_000_000)
            case "--max-body": options.server.maxBody = try integer(1...(1 << 40))
            case "--header-timeout":
                options.server.headerTimeoutSeconds = try seconds()
                if options.server.headerTimeoutSeconds == 0 { throw fail("--header-timeout: must be more than 0") }
            case "--threads": options.server.loopCount = try integer(1...64)
            case "-s", "--source": specs.append(try value())
            default:
                throw fail("unknown option '\(name)'")
            }
        }
        for spec in specs {
            do {
                options.sources.append(try SourceSpec.parse(spec))
            } catch {
                throw fail(error.description)
            }
        }
        return options
    }

    public static let help = """
        usage: sse-serve [OPTIONS] [SOURCE ...]

        Serves Server-Sent Events: named channels, ids that only rise, replay of
        the last events by Last-Event-ID, fed by sources and by HTTP publishing.

        SOURCE (repeatable; also --source SOURCE):
          ticker[:FEEDFILE][@CHANNEL]  stock ticker simulator (default feed feeds/ticker.json) [ticker]
          stdin[@CHANNEL]              standard input, one event per record (--format)         [stdin]
          tail:PATH[@CHANNEL]          follow a file like tail -F                               [file's base name]
          exec:COMMAND[@CHANNEL]       run /bin/sh -c COMMAND, one event per output record      [exec]
          With no SOURCE: stdin when it is a pipe, FIFO or file, otherwise ticker.

        OPTIONS:
          --host ADDR            address to bind, IPv4 or IPv6 [127.0.0.1]
          --port N               port; 0 picks a free one [8080]
          --public DIR           static files served under / [./public when present]
          --buffer N             events kept per channel for replay [1000]
          --retry MS             reconnection hint at the start of every stream [3000]
          --heartbeat SEC        comment line on streams idle this long; 0 = off [15]
          --format line|sse|json how stdin/tail/exec records become events [line]
          --cors ORIGIN          allowed Origin (* for any) for streams and publishing [none]
          --publish-token TOKEN  POST/PUT need Authorization: Bearer TOKEN [env SSE_PUBLISH_TOKEN]
          --gzip                 compress streams for clients that accept gzip
          --max-clients N        open connections; over it the answer is 503 [open-file limit less room]
          --max-body BYTES       largest request body; streaming publish: per record [1048576]
          --header-timeout SEC   close a request whose headers are not complete by then [10]
          --threads N            event loops [one per core]
          -q, --quiet            warnings and errors only
          -v, --verbose          more log lines (never one per delivered event)
          -h, --help             this text
          -V, --version          the version

        URLS:
          GET  /events/CHANNEL             a stream (Last-Event-ID or ?lastEventId= to replay; 0 = all)
          GET  /events?channel=A&channel=B one stream of several channels
          POST /events/CHANNEL             publish (text, JSON, text/event-stream; ?event=TYPE; ?format=line|sse|json streams records)
          GET  /channels  /healthz  /metrics

        EXAMPLES:
          sse-serve                                   ticker demo on http://127.0.0.1:8080/
          tail -f app.log | sse-serve stdin@app       each line an event on channel app
          curl -N localhost:8080/events/ticker        watch a stream
          curl -d 'hello' localhost:8080/events/news  publish one event
        """
}
