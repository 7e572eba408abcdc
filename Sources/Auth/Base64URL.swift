/// Base64url (RFC 4648 §5, `-` and `_`) without padding, as JWTs use it (RFC 7515 §2).
public enum Base64URL {
    /// `bytes` encoded, no `=` padding.
    public static func encode(_ bytes: some Collection<UInt8>) -> String {
        Base64Alphabet.url.encode(bytes, padded: false)
    }

    /// The bytes `text` encodes (padding may be missing, and present unless
    /// `allowPadding` is false, as for a JWT's parts, which have one spelling
    /// only); nil when it is not base64url (a `+`, `/`, space or other byte
    /// outside the alphabet, bad padding or length).
    public static func decode(_ text: some StringProtocol, allowPadding: Bool = true) -> [UInt8]? {
        var text = String(text)
        return text.withUTF8 { decode($0, allowPadding: allowPadding) }
    }

    static func decode(_ text: UnsafeBufferPointer<UInt8>, allowPadding: Bool) -> [UInt8]? {
        if !allowPadding && text.contains(UInt8(ascii: "=")) { return nil }
        return Base64Alphabet.url.decode(text)
    }
}
