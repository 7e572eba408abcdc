/// Why a text is not a channel pattern, said for the person who wrote it
/// (on the command line or in a token's claims).
public struct ChannelGlobError: Error, Equatable, Sendable, CustomStringConvertible {
    public var message: String

    public init(_ message: String) { self.message = message }

    public var description: String { message }
}
