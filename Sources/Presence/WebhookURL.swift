/// The parts of an `http://HOST[:PORT][/PATH]` webhook URL a request needs.
struct WebhookURL: Equatable {
    var host: String
    var port: Int
    /// The path and query, `/` when none.
    var target: String
    /// The `Host` header: the authority as written.
    var authority: String

    /// nil for anything but a plain `http://` URL with a host.
    init?(_ text: String) {
        guard text.lowercased().hasPrefix("http://") else { return nil }
        let rest = text.dropFirst(7)
        let slash = rest.firstIndex(where: { $0 == "/" || $0 == "?" }) ?? rest.endIndex
        let authority = rest[..<slash]
        target = slash == rest.endIndex ? "/" : (rest[slash] == "?" ? "/" : "") + String(rest[slash...])
        guard !authority.isEmpty, !authority.contains("@") else { return nil }
        self.authority = String(authority)
        var hostPart = authority
        var portText: Substring? = nil
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { return nil }
            hostPart = authority[authority.index(after: authority.startIndex)..<close]
            let after = authority[authority.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { return nil }
                portText = after.dropFirst()
            }
        } else if let colon = authority.lastIndex(of: ":") {
            hostPart = authority[..<colon]
            portText = authority[authority.index(after: colon)...]
        }
        guard !hostPart.isEmpty else { return nil }
        host = String(hostPart)
        if let portText {
            guard let port = Int(portText), port > 0, port < 65536 else { return nil }
            self.port = port
        } else {
            port = 80
        }
    }
}
