import EventStream
import Feeds
import Reactor
import Server

/// The parsed command line: server configuration, sources, logging, where
/// the dashboard and feeds are, or a request for help or the version.
///
/// Every option comes from `CommandLineOptions.table`, on the command line or
/// from its `SSE_` variable; a flag wins over its variable.
public struct CommandLineOptions: Sendable {
    public var server = ServerConfiguration()
    public var sources: [SourceSpec] = []
    public var logLevel = Logger.Level.info
    /// Timestamps on text log lines; nil: when standard error is not a terminal.
    public var logTimestamps: Bool?
    public var showHelp = false
    public var showVersion = false
    /// Where `server.publicDirectory` came from, for `-v`; nil when none was found.
    public var publicOrigin: String?
    /// Where `ticker:NAME` looks for feed files, in order.
    public var feedDirectories = ["feeds"]
    /// Source texts as given, parsed once all options are in.
    var sourceArguments: [String] = []

    public static let version = "sse-serve 0.2.0"

    /// An argument the program cannot use, with the message for standard error.
    public struct UsageError: Error, CustomStringConvertible, Sendable {
        public var message: String
        public var description: String { message }
    }

    /// Parses the arguments after the program name, then the `SSE_` variables in
    /// `environment` for the options not given as flags. With `resources`, a
    /// dashboard and feed folders are looked up when not given (tests pass none,
    /// and get no static files unless they ask).
    public static func parse(
        _ arguments: [String], environment: [String: String] = [:], resources: ResourceSearch? = nil
    ) throws(UsageError) -> CommandLineOptions {
        var options = CommandLineOptions()
        var given: Set<String> = []
        var index = 0
        var onlySources = false

        func apply(_ descriptor: OptionDescriptor, _ value: OptionValue) throws(UsageError) {
            do {
                try descriptor.apply(&options, value)
            } catch let error as UsageError {
                throw error
            } catch {
                throw UsageError(message: "\(value.origin): \(error)")
            }
        }

        while index < arguments.count {
            let argument = arguments[index]
            index += 1
            if onlySources || !argument.hasPrefix("-") || argument == "-" {
                options.sourceArguments.append(argument)
                given.insert("source")
                continue
            }
            if argument == "--" {
                onlySources = true
                continue
            }
            var name = argument
            var inlineValue: String? = nil
            if argument.hasPrefix("--"), let equals = argument.firstIndex(of: "=") {
                name = String(argument[..<equals])
                inlineValue = String(argument[argument.index(after: equals)...])
            }
            guard let descriptor = Self.descriptor(named: name) else {
                throw UsageError(message: "unknown option '\(name)'")
            }
            let text: String
            if descriptor.isFlag {
                text = inlineValue ?? "true"
            } else if let inlineValue {
                text = inlineValue
            } else {
                guard index < arguments.count else { throw UsageError(message: "\(name) needs a value") }
                text = arguments[index]
                index += 1
            }
            try apply(descriptor, OptionValue(text: text, origin: "--" + descriptor.long))
            given.insert(descriptor.slot)
        }

        for descriptor in table where descriptor.hasEnvironment && !given.contains(descriptor.slot) {
            let variable = descriptor.environmentName
            guard let text = environment[variable] else { continue }
            if descriptor.isFlag && text.isEmpty { continue }
            try apply(descriptor, OptionValue(text: text, origin: variable))
        }

        if let resources {
            if !given.contains("public") && environment["SSE_PUBLIC"] == nil, let found = resources.publicDirectory() {
                options.server.publicDirectory = found.path
                options.publicOrigin = found.origin
            }
            options.feedDirectories = resources.feedDirectories
        }

        for text in options.sourceArguments {
            do {
                options.sources.append(try SourceSpec.parse(text))
            } catch {
                throw UsageError(message: error.description)
            }
        }
        if options.sources.filter({ $0.kind == "stdin" }).count > 1 {
            throw UsageError(message: "stdin can feed only one source")
        }
        return options
    }

    static func descriptor(named name: String) -> OptionDescriptor? {
        if name.hasPrefix("--") {
            let long = name.dropFirst(2)
            return table.first { $0.long == long }
        }
        guard name.count == 2, let letter = name.last else { return nil }
        return table.first { $0.short == letter }
    }

    /// `  LEFT   TEXT`, TEXT wrapped at word boundaries to 80 columns and its
    /// further lines indented under its first.
    static func wrap(_ left: String, _ text: String, width: Int) -> String {
        let indent = width + 2
        var out = "  " + left + String(repeating: " ", count: indent - 2 - left.count)
        var column = indent
        var first = true
        for word in text.split(separator: " ") {
            if !first && column + 1 + word.count > 80 {
                out += "\n" + String(repeating: " ", count: indent)
                column = indent
                first = true
            }
            if !first {
                out += " "
                column += 1
            }
            out += word
            column += word.count
            first = false
        }
        return out + "\n"
    }

    /// The `SSE_` variables, in table order.
    static var environmentNames: [String] { table.filter(\.hasEnvironment).map(\.environmentName) }

    /// `--help`: the synopsis, the sources, every option by section with its
    /// default, the URLs, the variables and a few examples.
    public static var help: String {
        let width = table.map(\.usage.count).max()! + 2
        var out = """
            usage: sse-serve [OPTIONS] [SOURCE ...]

            Serves Server-Sent Events: named channels, ids that only rise, replay of
            the last events by Last-Event-ID, fed by sources and by HTTP publishing.

            SOURCE (repeatable; also --source SOURCE):

            """
        let sourceWidth = SourceKind.all.map(\.usage.count).max()! + 2
        for kind in SourceKind.all { out += wrap(kind.usage, kind.summary, width: sourceWidth) }
        out += """
              Without @CHANNEL the channel is the kind's name (tail: the file's base name).
              With no SOURCE: stdin when it is a pipe, FIFO or file, otherwise ticker.

            """
        for section in OptionDescriptor.Section.allCases {
            out += "\n\(section.rawValue):\n"
            for descriptor in table where descriptor.section == section {
                var text = descriptor.help
                if let defaultText = descriptor.defaultText { text += " [\(defaultText)]" }
                out += wrap(descriptor.usage, text, width: width)
            }
        }
        out += """

            URLS:
              GET  /events/CHANNEL             a stream (Last-Event-ID or ?lastEventId= to replay; 0 = all)
              GET  /events?channel=A&channel=B one stream of several channels
              POST /events/CHANNEL             publish (text, JSON, text/event-stream; ?event=TYPE;
                                               ?format=line|sse|json streams records)
              GET  /channels  /healthz  /metrics

            ENVIRONMENT:
              Every option but --help and --version can come from SSE_ and its name in
              capitals with _ for - (a flag wins over its variable; flags take 1, true,
              yes or 0, false, no):

            """
        var line = " "
        for name in environmentNames {
            if line.count + name.count + 1 > 78 {
                out += line + "\n"
                line = " "
            }
            line += " " + name
        }
        out += line + "\n"
        out += """

            EXAMPLES:
              sse-serve                                   ticker demo on http://127.0.0.1:8080/
              tail -f app.log | sse-serve stdin@app       each line an event on channel app
              curl -N localhost:8080/events/ticker        watch a stream
              curl -d 'hello' localhost:8080/events/news  publish one event

            See sse-serve(1).
            """
        return out
    }
}
