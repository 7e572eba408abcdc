/// Why a Redis command, or the link it went over, failed.
public enum RedisError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The connection could not be opened (refused, no such socket, timed out).
    case connectFailed(String)
    /// The connection broke: closed by the server, reset, a read or write error.
    case connectionLost(String)
    /// No reply in time. The link is closed with it: later replies could no
    /// longer be matched to their commands.
    case timeout(String)
    /// The server answered with an error reply, e.g. `WRONGTYPE ...`.
    case server(String)
    /// The server sent bytes that are not RESP2; the link is closed.
    case protocolError(String)
    /// The server refused the login: `WRONGPASS ...`, or `NOAUTH ...` when a password is needed.
    case authFailed(String)
    /// The link is down; the command was refused at once. Carries the reason the link went down.
    case unavailable(String)
    /// The client was closed.
    case closed

    public var description: String {
        switch self {
        case .connectFailed(let detail): return "cannot connect to Redis: \(detail)"
        case .connectionLost(let detail): return "connection to Redis lost: \(detail)"
        case .timeout(let detail): return "Redis did not answer in time: \(detail)"
        case .server(let text): return "Redis error: \(text)"
        case .protocolError(let detail): return "Redis sent a reply that is not RESP: \(detail)"
        case .authFailed(let text): return "Redis AUTH failed: \(text)"
        case .unavailable(let reason): return "Redis unavailable (\(reason))"
        case .closed: return "Redis client closed"
        }
    }
}
