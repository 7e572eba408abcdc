/// Why a text is not a usable `http://` URL, in words for the user.
public struct HTTPURLError: Error, Equatable, Sendable, CustomStringConvertible {
    public var message: String

    public init(_ message: String) { self.message = message }

    public var description: String { message }
}
