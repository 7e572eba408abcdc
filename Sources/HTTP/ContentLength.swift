/// The one reading of `Content-Length` (RFC 9110 §8.6, RFC 9112 §6.3), for
/// requests and responses alike: every value (a repeated field, or a list such
/// as `5, 5`) the same run of at most 18 digits.
enum ContentLength {
    /// The length `values` give, or nil when they are malformed or disagree.
    static func parse(_ values: [String]) -> UInt64? {
        if values.count == 1, let length = digits(values[0]) { return length }
        let texts = Set(values.flatMap { $0.split(separator: ",", omittingEmptySubsequences: false) }.map { $0.trimmingSpaces() })
        guard texts.count == 1, let text = texts.first else { return nil }
        return digits(text)
    }

    /// The common case without allocating: one value of 1 to 18 digits, nothing else.
    static func digits(_ value: String) -> UInt64? {
        var value = value
        return value.withUTF8 { bytes -> UInt64? in
            guard !bytes.isEmpty, bytes.count <= 18 else { return nil }
            var length: UInt64 = 0
            for b in bytes {
                guard b >= 0x30 && b <= 0x39 else { return nil }
                length = length * 10 + UInt64(b - 0x30)
            }
            return length
        }
    }
}

extension RequestHead {
    /// The body's length as `Content-Length` gives it; nil without the field
    /// (or with a malformed one, which `RequestParser` refuses before anyone asks).
    public var contentLength: UInt64? {
        var found: String?
        for field in headers where Self.sameName(field.name, "Content-Length") {
            // Repeated: the general reading, which checks that the values agree.
            if found != nil { return ContentLength.parse(headerValues("Content-Length")) }
            found = field.value
        }
        guard let found else { return nil }
        return ContentLength.digits(found) ?? ContentLength.parse([found])
    }
}
