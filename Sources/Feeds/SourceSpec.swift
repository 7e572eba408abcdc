import EventStream
import Glibc

/// A `SOURCE` argument as parsed from the command line:
/// `KIND[:ARGUMENT][@CHANNEL]`, e.g. `tail:/var/log/syslog@logs`.
public struct SourceSpec: Sendable, Equatable, CustomStringConvertible {
    /// `ticker`, `stdin`, `tail`, `exec`.
    public var kind: String
    /// What follows the first `:` (feed file, path, command); nil when there is no `:`.
    public var argument: String?
    /// The `@CHANNEL` suffix, or the kind's default channel.
    public var channel: String

    public init(kind: String, argument: String? = nil, channel: String) {
        self.kind = kind
        self.argument = argument
        self.channel = channel
    }

    /// Parses a spec. `@CHANNEL` is whatever follows the last `@` when that is a
    /// valid channel name, so `exec:ssh user@host tail -f x` has no channel suffix.
    public static func parse(_ text: String) throws(SourceError) -> SourceSpec {
        var body = Substring(text)
        var channel: String? = nil
        if let at = text.lastIndex(of: "@"), ChannelName.isValid(text[text.index(after: at)...]) {
            channel = String(text[text.index(after: at)...])
            body = text[..<at]
        }
        let name: Substring
        var argument: String? = nil
        if let colon = body.firstIndex(of: ":") {
            name = body[..<colon]
            argument = String(body[body.index(after: colon)...])
        } else {
            name = body
        }
        guard let kind = SourceKind.named(String(name)) else {
            let known = SourceKind.all.map(\.usage).joined(separator: ", ")
            throw SourceError("unknown source '\(text)': use one of \(known)")
        }
        switch kind.argument {
        case .none where argument != nil:
            throw SourceError("source '\(text)': \(kind.name) takes no ':' argument (\(kind.usage))")
        case .optional, .required:
            if argument?.isEmpty == true || (kind.argument == .required && argument == nil) {
                throw SourceError("source '\(text)': missing the argument after '\(kind.name):' (\(kind.usage))")
            }
        default:
            break
        }
        if let channel { return SourceSpec(kind: kind.name, argument: argument, channel: channel) }
        return SourceSpec(kind: kind.name, argument: argument, channel: try kind.defaultChannel(argument))
    }

    /// Makes the source (a ticker loads its feed file here, so a bad one is
    /// reported before the server starts).
    public func makeSource(options: SourceOptions) throws(SourceError) -> any Source {
        guard let kind = SourceKind.named(kind) else { throw SourceError("unknown source kind '\(kind)'") }
        return try kind.make(self, options)
    }

    /// The source when none is given: `stdin` when standard input is a pipe,
    /// FIFO or regular file (`cmd | sse-serve`, `sse-serve < file`), otherwise
    /// `ticker`, so a bare `sse-serve` in a terminal is a live demo.
    public static func defaultSpec(standardInput fd: Int32 = 0) -> SourceSpec {
        var info = stat()
        if fstat(fd, &info) == 0 {
            let type = info.st_mode & S_IFMT
            if type == S_IFIFO || type == S_IFREG {
                return SourceSpec(kind: "stdin", channel: StdinSource.defaultChannel)
            }
        }
        return SourceSpec(kind: "ticker", channel: TickerSource.defaultChannel)
    }

    /// The spec in full, `kind[:argument]@channel`.
    public var description: String {
        kind + (argument.map { ":" + $0 } ?? "") + "@" + channel
    }
}
