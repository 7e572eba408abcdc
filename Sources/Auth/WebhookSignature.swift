/// Standard Webhooks signatures (standardwebhooks.com): `v1,` and the base64
/// HMAC-SHA-256 of `ID.TIMESTAMP.BODY`, under the secret's bytes, or under
/// the base64-decoded rest of a secret that starts with `whsec_`.
public struct WebhookSignature: Sendable {
    private let hmac: HMACSHA256

    /// The prefix of secrets given as base64 (what Svix and Standard Webhooks libraries issue).
    public static let secretPrefix = "whsec_"

    /// nil when `secret` is empty, or starts with `whsec_` and the rest is
    /// not base64 of at least one byte (a typo would otherwise sign with a key
    /// no receiver has).
    public init?(secret: String) {
        guard let key = Self.key(secret: secret) else { return nil }
        hmac = HMACSHA256(key: key)
    }

    /// The HMAC key a secret stands for; nil as for `init(secret:)`.
    public static func key(secret: String) -> [UInt8]? {
        if secret.hasPrefix(secretPrefix) {
            guard let key = Base64.decode(secret.dropFirst(secretPrefix.count)), !key.isEmpty else { return nil }
            return key
        }
        return secret.isEmpty ? nil : Array(secret.utf8)
    }

    /// `v1,BASE64` for one message.
    public func sign(id: String, timestamp: Int64, body: [UInt8]) -> String {
        "v1," + Base64.encode(tag(id: id, timestamp: timestamp, body: body))
    }

    /// The three header fields of a signed delivery: `webhook-id`,
    /// `webhook-timestamp` (Unix seconds) and `webhook-signature`.
    public func headers(id: String, timestamp: Int64, body: [UInt8]) -> [(String, String)] {
        [("webhook-id", id), ("webhook-timestamp", String(timestamp)), ("webhook-signature", sign(id: id, timestamp: timestamp, body: body))]
    }

    /// What a receiver does: true when any `v1,` signature in the
    /// space-separated `header` is this message's (compared in constant time),
    /// and, when `nowSeconds` is given, the timestamp is within `tolerance`
    /// seconds of it (replays of old deliveries are refused).
    public func verify(
        header: String, id: String, timestamp: Int64, body: [UInt8], nowSeconds: Int64? = nil, tolerance: Int64 = 300
    ) -> Bool {
        if let nowSeconds, timestamp < nowSeconds - tolerance || timestamp > nowSeconds + tolerance { return false }
        // Compared as text, as the reference receivers do: one spelling, padded.
        let expected = Array(Base64.encode(tag(id: id, timestamp: timestamp, body: body)).utf8)
        var found = false
        for item in header.split(separator: " ") where item.hasPrefix("v1,") {
            // Every candidate is compared, so the time says nothing about which matched.
            if ConstantTime.equals(item.utf8.dropFirst(3), expected) { found = true }
        }
        return found
    }

    /// `v1,BASE64` for one message under `secret`; nil for a secret `init(secret:)` refuses.
    public static func sign(secret: String, id: String, timestamp: Int64, body: [UInt8]) -> String? {
        WebhookSignature(secret: secret)?.sign(id: id, timestamp: timestamp, body: body)
    }

    /// `verify` under `secret`; false for a secret `init(secret:)` refuses.
    public static func verify(
        header: String, secret: String, id: String, timestamp: Int64, body: [UInt8], nowSeconds: Int64? = nil, tolerance: Int64 = 300
    ) -> Bool {
        WebhookSignature(secret: secret)?.verify(
            header: header, id: id, timestamp: timestamp, body: body, nowSeconds: nowSeconds, tolerance: tolerance) ?? false
    }

    private func tag(id: String, timestamp: Int64, body: [UInt8]) -> [UInt8] {
        var message = Array(id.utf8)
        message.reserveCapacity(message.count + 22 + body.count)
        message.append(UInt8(ascii: "."))
        message += String(timestamp).utf8
        message.append(UInt8(ascii: "."))
        message += body
        return hmac.authenticate(message)
    }
}
