/// The header fields of the `GET` the server sends to `--auth URL` to ask
/// the app about a stream request.
public enum AuthCallbackRequest {
    /// The fields, in this order: the client's `Cookie`, `Authorization`,
    /// `Origin` and `User-Agent` (each when it sent one), `X-Forwarded-For:
    /// CLIENT-ADDRESS`, `SSE-Channels: a,b`, `SSE-Token` (when a token was
    /// found) and `SSE-Last-Event-ID` (when given).
    ///
    /// A value holding CR, LF or NUL is left out: the token and the last id
    /// may come from a percent-decoded query, and must not forge a field.
    public static func headers(
        cookie: String?, authorization: String?, origin: String?, userAgent: String?, clientAddress: String,
        channels: [String], token: String?, lastEventID: String?
    ) -> [(String, String)] {
        var fields: [(String, String)] = []
        func add(_ name: String, _ value: String?) {
            guard let value, !value.utf8.contains(where: { $0 == 0x0D || $0 == 0x0A || $0 == 0x00 }) else { return }
            fields.append((name, value))
        }
        add("Cookie", cookie)
        add("Authorization", authorization)
        add("Origin", origin)
        add("User-Agent", userAgent)
        add("X-Forwarded-For", clientAddress)
        add("SSE-Channels", channels.joined(separator: ","))
        add("SSE-Token", token)
        add("SSE-Last-Event-ID", lastEventID)
        return fields
    }
}
