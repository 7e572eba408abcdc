import EventStream
import Presence

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
        guard let registry = server.presence?.registry else {
            respond(.text(404, "presence is not enabled on this server"))
            return
        }
        respond(.json(200, registry.snapshot(channel)))
    }
}
