import Auth
import HTTP
import Reactor

/// The server's access rules, fixed at start: which channels are protected,
/// the JWT key, the publish token, the auth callback. Shared by every loop.
final class AccessPolicy: Sendable {
    let protected: ChannelRules
    let verifier: JWTVerifier?
    let publishToken: String?
    let callback: AuthCallbackTarget?
    let callbackTimeoutNanos: UInt64

    /// Nil when no access control is configured (every channel public).
    init?(configuration: ServerConfiguration) throws(AccessPolicyError) {
        let key = configuration.jwtKey.flatMap { $0.isEmpty ? nil : $0 }
        let authURL = configuration.authURL.flatMap { $0.isEmpty ? nil : $0 }
        publishToken = configuration.publishToken
        verifier = key.map { JWTVerifier(key: Array($0.utf8)) }
        if let authURL {
            do {
                callback = try AuthCallbackTarget(url: authURL)
            } catch {
                throw AccessPolicyError(message: "--auth: \(error)")
            }
        } else {
            callback = nil
        }
        callbackTimeoutNanos = UInt64(max(1, configuration.authTimeoutMilliseconds)) * 1_000_000
        if configuration.protectedChannels.isEmpty {
            guard key != nil || authURL != nil else { return nil }
            protected = .everything
        } else {
            switch ChannelRules.parse(configuration.protectedChannels) {
            case .success(let rules): protected = rules
            case .failure(let error): throw AccessPolicyError(message: "--protect: \(error)")
            }
        }
    }

    /// True when `channel` (or the channel a presence channel is about) needs authorization.
    func isProtected(_ channel: String) -> Bool {
        protected.matches(ChannelAccess.governingChannel(channel))
    }

    /// The token a request carries: `Authorization: Bearer`, else the
    /// `sse_token` cookie, else `?token=`.
    static func token(of head: RequestHead) -> String? {
        let query = Query.parse(head.rawQuery)?.last(where: { $0.name == "token" })?.value
        return CredentialSource.find(authorization: head.header("Authorization"), cookie: head.header("Cookie"), queryToken: query)?.token
    }
}

/// Where the auth callback goes: the app's `http://` URL.
struct AuthCallbackTarget: Sendable {
    let url: HTTPURL

    init(url text: String) throws(AccessPolicyError) {
        do {
            url = try HTTPURL.parse(text)
        } catch {
            throw AccessPolicyError(message: error.description)
        }
    }
}

/// A configuration of access control that cannot work, with the reason.
struct AccessPolicyError: Error, CustomStringConvertible, Sendable {
    var message: String
    var description: String { message }
}
