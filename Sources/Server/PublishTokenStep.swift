import EventStream
import HTTP

/// The step that guards publishing: the `--publish-token` (a bearer token
/// compared in constant time), and the server's own `presence/` channels.
final class PublishTokenStep: RequestStep {
    private let server: ServerContext

    init(server: ServerContext) { self.server = server }

    func decide(_ request: ServerRequest) -> StepResult {
        guard case .publish(let channel, _, _) = request.route else { return .proceed }
        guard server.isAuthorized(request.head) else {
            return .answer(.text(401, "publishing needs Authorization: Bearer TOKEN", headers: [("WWW-Authenticate", "Bearer")]))
        }
        if ChannelName.isReserved(channel) {
            return .answer(.text(403, PublishError.reservedChannel(channel).description))
        }
        return .proceed
    }
}
