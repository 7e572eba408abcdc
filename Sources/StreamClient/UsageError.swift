/// A command line `sse-cat` cannot run with (exit status 2), with a message for the user.
public struct UsageError: Error, Equatable, Sendable, CustomStringConvertible {
    public var message: String

    public init(_ message: String) { self.message = message }

    public var description: String { message }
}
