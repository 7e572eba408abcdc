/// The one reading of `Content-Length` (RFC 9110 §8.6, RFC 9112 §6.3), for
/// requests and responses alike: every value (a repeated field, or a list such
/// as `5, 5`) the same run of at most 18 digits.
enum ContentLength {
    /// The length `values` give, or nil when they are malformed or disagree.
    static func parse(_ values: [String]) -> UInt64? {
        let texts = Set(values.flatMap { $0.split(separator: ",", omittingEmptySubsequences: false) }.map { $0.trimmingSpaces() })
        guard texts.count == 1, let text = texts.first, !text.isEmpty, text.utf8.count <= 18,
            text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 })
        else { return nil }
        return UInt64(text)
    }
}

extension RequestHead {
    /// The body's length as `Content-Length` gives it; nil without the field
    /// (or with a malformed one, which `RequestParser` refuses before anyone asks).
    public var contentLength: UInt64? {
        let values = headerValues("Content-Length")
        return values.isEmpty ? nil : ContentLength.parse(values)
    }
}
