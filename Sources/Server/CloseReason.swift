/// Why a request or a stream ended, as the access log says it.
enum CloseReason: String, Sendable {
    /// Answered (a request), or ended by the server as asked (a `HEAD` stream).
    case done
    /// The client closed the connection or went away.
    case clientClosed = "client-closed"
    /// A subscriber that fell behind the buffer, cut off.
    case slow
    /// Ended by the server stopping.
    case shutdown
    /// Headers, a body or a stalled reader took too long.
    case timeout
    /// A read or write failed.
    case error
}
