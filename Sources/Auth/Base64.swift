/// Standard base64 (RFC 4648 §4, `+` and `/`), as Standard Webhooks signatures
/// and `whsec_` secrets use it.
public enum Base64 {
    /// `bytes` encoded with `=` padding.
    public static func encode(_ bytes: some Collection<UInt8>) -> String {
        Base64Alphabet.standard.encode(bytes, padded: true)
    }

    /// The bytes `text` encodes, padded or not; nil when it is not base64
    /// (a character outside the alphabet, white space, bad padding or length).
    public static func decode(_ text: some StringProtocol) -> [UInt8]? {
        var text = String(text)
        return text.withUTF8 { Base64Alphabet.standard.decode($0) }
    }
}
