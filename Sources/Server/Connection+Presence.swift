import EventStream
import Presence
import Reactor

/// Presence: a stream joins the registry for each of its channels as it
/// opens, and leaves as it closes, whichever way it closes (every path goes
/// through `close`: the client's FIN, a reset, a failed write, a slow
/// subscriber cut off, shutdown).
extension Connection {
    /// Joins every channel of the stream that is not a `presence/` channel
    /// (reading who is present is not being present).
    func joinPresence(_ channels: [String], identity: Identity) {
        guard let registry = server.presence?.registry, presence == nil else { return }
        let joined = channels.filter { !ChannelName.isReserved($0) }
        guard !joined.isEmpty else { return }
        for channel in joined { registry.join(channel: channel, user: identity.user, info: identity.info) }
        presence = PresenceMembership(channels: joined, user: identity.user)
    }

    /// Leaves what `joinPresence` joined; does nothing the second time.
    func leavePresence() {
        guard let membership = presence else { return }
        presence = nil
        guard let registry = server.presence?.registry else { return }
        for channel in membership.channels { registry.leave(channel: channel, user: membership.user) }
    }

    /// `GET /presence/{channel}`: the snapshot, authorized like a subscribe by the steps before.
    func respondPresence(_ channel: String) {
        guard let presence = server.presence else {
            respond(.text(404, "presence is not enabled on this server"))
            return
        }
        guard let shared = presence.shared else {
            respond(.json(200, presence.registry.snapshot(channel)))
            return
        }
        // Every node's figures come from Redis: the connection waits (as a
        // publish waits for the store), the loop serves everyone else.
        phase = .waiting
        let loop = context.loop
        let connection = LoopBound(self, on: loop)
        shared.snapshot(channel) { result in
            loop.execute {
                let connection = connection.value
                guard !connection.isClosed, connection.phase == .waiting else { return }
                connection.phase = .awaitingHead
                connection.phaseSince = loop.now
                switch result {
                case .success(let snapshot):
                    connection.respond(.json(200, snapshot.json))
                case .failure(let error):
                    connection.respond(.text(503, "presence is unavailable: \(error.reason)", headers: [("Retry-After", "1")]))
                }
                if !connection.isClosed { connection.process() }
            }
        }
    }
}
