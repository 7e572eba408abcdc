import HTTP

/// What `sse-cat`'s command line asks for.
public struct ClientOptions: Equatable, Sendable {
    /// An extra request header from `-H 'NAME: VALUE'`.
    public struct Header: Equatable, Sendable {
        public var name: String
        public var value: String

        public init(_ name: String, _ value: String) {
            self.name = name
            self.value = value
        }
    }

    /// The whole command: run the client, or print the usage or version.
    public enum Command: Equatable, Sendable {
        case run(ClientOptions)
        case help
        case version
    }

    public var url: ClientURL
    public var format: OutputFormat = .json
    /// Sent as `Last-Event-ID` on the first connect.
    public var lastEventID: String? = nil
    /// Exit 0 after this many (printed) events.
    public var count: Int? = nil
    /// Print only events of these types; empty: all.
    public var eventTypes: [String] = []
    public var headers: [Header] = []
    public var reconnect = true

    public init(url: ClientURL) { self.url = url }

    public static let version = "sse-cat 0.1.0"

    public static let help = """
        usage: sse-cat [OPTIONS] URL

        Reads an event stream (http:// only) by the WHATWG rules and prints one line per event.
        It reconnects after the stream ends or the network fails, waiting the stream's retry:
        hint (else 3000 ms) and sending Last-Event-ID, so no event is missed or repeated.

        options:
          --format json|data|sse  json: {"id"?, "event", "data"} per line (what sse-serve
                                  --format json reads back); data: the data alone;
                                  sse: event-stream again [json]
          --last-event-id ID      sent as Last-Event-ID on the first connect
          -n, --count N           exit after N events
          --event TYPE            print only events of this type (repeatable)
          -H 'NAME: VALUE'        an extra request header (repeatable)
          --no-reconnect          exit when the stream ends
          -h, --help              this text
          -V, --version           the version

        exit status: 0 after N events, a 204, or the end of the stream with --no-reconnect;
        1 when the server answers 4xx, or 2xx without an event stream; 2 for bad usage.
        5xx answers and network errors are retried. For https, run a local TLS proxy
        (stunnel, or socat or nginx on localhost) and give its http:// URL.
        """

    /// Reads the arguments (without the program name).
    public static func parse(_ arguments: [String]) throws(UsageError) -> Command {
        var url: String? = nil
        var format = OutputFormat.json
        var lastEventID: String? = nil
        var count: Int? = nil
        var eventTypes: [String] = []
        var headers: [Header] = []
        var reconnect = true
        var i = 0
        var optionsEnded = false
        while i < arguments.count {
            var argument = arguments[i]
            i += 1
            if optionsEnded || !argument.hasPrefix("-") || argument == "-" {
                guard url == nil else { throw UsageError("more than one URL: '\(url!)' and '\(argument)'") }
                url = argument
                continue
            }
            // --name=value is the same as --name value.
            var inlineValue: String? = nil
            if argument.hasPrefix("--"), let equals = argument.firstIndex(of: "=") {
                inlineValue = String(argument[argument.index(after: equals)...])
                argument = String(argument[..<equals])
            }
            func value() throws(UsageError) -> String {
                if let inlineValue { return inlineValue }
                guard i < arguments.count else { throw UsageError("\(argument) needs a value") }
                i += 1
                return arguments[i - 1]
            }
            switch argument {
            case "--":
                optionsEnded = true
            case "-h", "--help":
                return .help
            case "-V", "--version":
                return .version
            case "--format":
                let text = try value()
                guard let chosen = OutputFormat(rawValue: text) else { throw UsageError("--format must be json, data or sse, not '\(text)'") }
                format = chosen
            case "--last-event-id":
                let id = try value()
                guard !id.utf8.contains(where: { $0 == 0 || $0 == 0x0A || $0 == 0x0D }) else {
                    throw UsageError("--last-event-id must not contain CR, LF or NUL")
                }
                lastEventID = id
            case "-n", "--count":
                let text = try value()
                guard let n = Int(text), n >= 1 else { throw UsageError("\(argument) needs a whole number of events, at least 1, not '\(text)'") }
                count = n
            case "--event":
                let type = try value()
                guard !type.isEmpty else { throw UsageError("--event needs a type") }
                eventTypes.append(type)
            case "-H", "--header":
                headers.append(try parseHeader(try value()))
            case "--no-reconnect":
                guard inlineValue == nil else { throw UsageError("--no-reconnect takes no value") }
                reconnect = false
            default:
                throw UsageError("unknown option \(argument)")
            }
        }
        guard let url else { throw UsageError("no URL given") }
        let parsed: ClientURL
        do {
            parsed = try ClientURL.parse(url)
        } catch {
            throw UsageError(error.message)
        }
        var options = ClientOptions(url: parsed)
        options.format = format
        options.lastEventID = lastEventID
        options.count = count
        options.eventTypes = eventTypes
        options.headers = headers
        options.reconnect = reconnect
        return .run(options)
    }

    private static func parseHeader(_ text: String) throws(UsageError) -> Header {
        guard let colon = text.firstIndex(of: ":") else { throw UsageError("-H '\(text)': expected 'NAME: VALUE'") }
        let name = String(text[..<colon])
        let value = text[text.index(after: colon)...].trimmingCharacters(in: " \t")
        let tokenBytes = Set("!#$%&'*+-.^_`|~".utf8)
        guard !name.isEmpty, name.utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 | 0x20 >= 0x61 && $0 | 0x20 <= 0x7A) || tokenBytes.contains($0) })
        else { throw UsageError("-H '\(text)': '\(name)' is not a header name") }
        guard !value.utf8.contains(where: { $0 == 0 || $0 == 0x0A || $0 == 0x0D }) else {
            throw UsageError("-H '\(text)': a header value must not contain CR, LF or NUL")
        }
        return Header(name, value)
    }
}

extension Substring {
    /// Without leading and trailing characters from `set`.
    func trimmingCharacters(in set: String) -> String {
        var s = self
        while let c = s.first, set.contains(c) { s.removeFirst() }
        while let c = s.last, set.contains(c) { s.removeLast() }
        return String(s)
    }
}
