/// Why a text is not the JSON `JSONValue.parse` accepts, and where.
public struct JSONError: Error, Equatable, Sendable, CustomStringConvertible {
    public var message: String
    /// The byte offset where reading stopped.
    public var offset: Int

    public init(_ message: String, at offset: Int) {
        self.message = message
        self.offset = offset
    }

    public var description: String { "\(message) at byte \(offset)" }
}
