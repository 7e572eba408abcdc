import Auth
import EventStream
import HTTP
import Reactor

/// The step that guards publishing: with `--publish-token` or `--jwt-key`, a
/// publish needs that token or a JWT whose `sse.publish` covers the channel
/// (`401` without, `403` when the JWT does not cover it); with neither it is
/// open. The server's own `presence/` channels are never published to.
final class PublishTokenStep: RequestStep {
    private let server: ServerContext
    private let policy: AccessPolicy?

    init(server: ServerContext, policy: AccessPolicy?) {
        self.server = server
        self.policy = policy
    }

    func decide(_ request: ServerRequest) -> StepResult {
        guard case .publish(let channel, _, _) = request.route else { return .proceed }
        if ChannelName.isReserved(channel) {
            return .answer(.text(403, PublishError.reservedChannel(channel).description))
        }
        let token = server.configuration.publishToken.flatMap { $0.isEmpty ? nil : $0 }
        let verifier = policy?.verifier
        guard token != nil || verifier != nil else { return .proceed }
        if server.isAuthorized(request.head) && token != nil { return .proceed }
        if let verifier, let presented = AccessPolicy.token(of: request.head) {
            switch verifier.verify(presented, nowSeconds: Int64(Clock.wallMillis() / 1000)) {
            case .success(let claims):
                guard claims.mayPublish(to: channel) else {
                    return .answer(.text(403, "forbidden: the token does not allow publishing to '\(channel)'"))
                }
                request.identity = Identity(user: claims.sub, info: claims.info)
                return .proceed
            case .failure(.notJWT):
                break
            case .failure(let error):
                return .answer(.text(401, error.message, headers: [("WWW-Authenticate", "Bearer error=\"invalid_token\"")]))
            }
        }
        return .answer(.text(401, "publishing needs Authorization: Bearer TOKEN", headers: [("WWW-Authenticate", "Bearer")]))
    }
}
