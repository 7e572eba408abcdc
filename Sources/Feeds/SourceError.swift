/// Why a source spec was refused or a source could not be made or started,
/// in words for the command line.
public struct SourceError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String

    public init(_ message: String) { self.message = message }

    public var description: String { message }
}

/// The name the command line code may use for a bad `SOURCE` argument.
public typealias SourceSpecError = SourceError
