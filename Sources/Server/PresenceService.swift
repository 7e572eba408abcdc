import Auth
import EventStream
import Presence
import Reactor

/// Presence in the server: the registry every loop reports streams to, and
/// the webhook sender when `--webhook` is set. Created from the configuration.
final class PresenceService: Sendable {
    let registry: PresenceRegistry
    /// nil without `--webhook`.
    let webhooks: WebhookSender?

    /// - Parameter clock: the loops' clock, which also times the leave grace
    ///   (loop 0 calls `tick` from its periodic tick).
    init(configuration: ServerConfiguration, hub: Hub, clock: any LoopClock, logger: Logger) {
        var sender: WebhookSender? = nil
        if let url = configuration.webhookURL {
            if let secret = configuration.webhookSecret, WebhookSignature.key(secret: secret) == nil {
                logger.warning("--webhook-secret: a whsec_ secret must be followed by base64; sending webhooks unsigned")
            }
            sender = WebhookSender(url: url, secret: configuration.webhookSecret, log: { logger.warning($0) })
        }
        webhooks = sender
        registry = PresencePublisher(hub: hub, webhooks: sender?.queue)
            .makeRegistry(leaveGrace: configuration.leaveGraceSeconds, clock: { clock.monotonicNanos() })
    }

    func start() { webhooks?.start() }

    /// Stops the webhook thread; what it has not sent yet is lost.
    func stop() { webhooks?.stop() }
}
