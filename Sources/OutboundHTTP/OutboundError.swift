/// Why an outbound request got no usable response, with a message that names
/// the URL and says what went wrong (`http://app:8000/auth: timed out after 1000 ms`).
public struct OutboundError: Error, Equatable, Sendable, CustomStringConvertible {
    /// What kind of failure it was, for callers that treat some differently.
    public enum Kind: Equatable, Sendable {
        /// The request itself cannot be sent (a header with CR or LF, a bad method).
        case invalidRequest
        /// The host name could not be looked up.
        case resolve
        /// The connection could not be opened.
        case connect
        /// The deadline (`timeoutNanos`, or a stream's idle time) passed.
        case timeout
        /// The connection failed or was closed before the response was complete.
        case closed
        /// The answer is not HTTP/1.x as we read it.
        case malformedResponse
        /// The body is over the request's `maxBodyBytes`.
        case bodyTooLarge
        /// The client was shut down while the request was pending.
        case shutdown
    }

    public var kind: Kind
    public var message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }
}
