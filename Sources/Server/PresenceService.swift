import Auth
import EventStream
import Presence
import Reactor

/// Presence in the server: the registry every loop reports streams to, and
/// the webhook sender when `--webhook` is set. Created from the configuration.
///
/// With shared presence (`--redis`) the registry is this node's share only:
/// its changes go to `shared`, which says `join`/`leave` and the webhooks for
/// all nodes and answers snapshots; the registry's own events are dropped.
final class PresenceService: Sendable {
    let registry: PresenceRegistry
    /// nil without `--webhook`.
    let webhooks: WebhookSender?
    /// nil without `--redis`.
    let shared: (any SharedPresence)?

    /// - Parameter clock: the loops' clock, which also times the leave grace
    ///   (loop 0 calls `tick` from its periodic tick).
    init(configuration: ServerConfiguration, hub: Hub, clock: any LoopClock, logger: Logger, shared: (any SharedPresence)? = nil) {
        var sender: WebhookSender? = nil
        if let url = configuration.webhookURL {
            if let secret = configuration.webhookSecret, WebhookSignature.key(secret: secret) == nil {
                logger.warning("--webhook-secret: a whsec_ secret must be followed by base64; sending webhooks unsigned")
            }
            sender = WebhookSender(url: url, secret: configuration.webhookSecret, log: { logger.warning($0) })
        }
        webhooks = sender
        self.shared = shared
        if let shared {
            registry = PresenceRegistry(
                leaveGrace: configuration.leaveGraceSeconds, clock: { clock.monotonicNanos() }, onChange: { shared.changed($0) }, output: { _ in })
        } else {
            registry = PresencePublisher(hub: hub, webhooks: sender?.queue)
                .makeRegistry(leaveGrace: configuration.leaveGraceSeconds, clock: { clock.monotonicNanos() })
        }
    }

    func start() {
        webhooks?.start()
        if let shared {
            let queue = webhooks?.queue
            shared.start(registry: registry, webhooks: { queue?.enqueue($0) })
        }
    }

    /// Hands the node's last changes to shared presence (bounded wait), then
    /// stops the webhook thread; what it has not sent yet is lost.
    func stop() {
        shared?.stop()
        webhooks?.stop()
    }
}
