/// An event as a publisher hands it in: a type and the data, before it has an id.
public struct Event: Sendable, Equatable {
    /// The `event:` field; `message` is the default and is not sent.
    public var type: String
    /// The payload; line breaks (LF, CRLF, lone CR) become several `data:` lines.
    public var data: String

    public init(type: String = "message", data: String) {
        self.type = type
        self.data = data
    }

    /// True when the type is one EventSource can receive and cannot forge a field:
    /// not empty, no CR, LF or NUL.
    @inlinable
    public static func isValidType<S: StringProtocol>(_ type: S) -> Bool {
        !type.isEmpty && !type.utf8.contains(where: { $0 == 0x0A || $0 == 0x0D || $0 == 0x00 })
    }
}

/// Why a publish was refused.
public enum PublishError: Error, Equatable, Sendable, CustomStringConvertible {
    case invalidChannel(String)
    case invalidEventType(String)
    case emptyData
    case shuttingDown
    /// Names under `presence/` are the server's own.
    case reservedChannel(String)
    case tooManyChannels(Int)
    /// The store cannot be reached; nothing was kept or numbered.
    case unavailable(String)

    public var description: String {
        switch self {
        case .invalidChannel(let name): return "invalid channel name '\(name.prefix(64))': use 1-128 of A-Z a-z 0-9 . _ - ~ and / inside"
        case .invalidEventType: return "invalid event type: it must be non-empty without CR, LF or NUL"
        case .emptyData: return "empty event data"
        case .shuttingDown: return "the server is shutting down"
        case .reservedChannel(let name): return "channel '\(name.prefix(64))' is the server's own: it cannot be published to"
        case .tooManyChannels(let limit): return "too many channels: at most \(limit) may exist (--max-channels)"
        case .unavailable(let reason): return "the event store is unavailable: \(reason)"
        }
    }
}
