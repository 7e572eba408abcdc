/// Bytes from a server that are not RESP2, or that exceed a reader's limits.
///
/// The connection that read them cannot be trusted to stay in step with its
/// commands any more, so the only remedy is to close it.
public struct RESPProtocolError: Error, Equatable, Sendable, CustomStringConvertible {
    public let message: String

    public init(_ message: String) { self.message = message }

    public var description: String { "RESP protocol error: \(message)" }
}
