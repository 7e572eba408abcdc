import EventStream
import Reactor
import Synchronization

/// Who is connected to which channel: connections per channel, and per user
/// their info and how many connections they have. Anonymous connections count
/// only as connections.
///
/// `join`/`leave` are called from the event loops, one call per channel of a
/// stream as it opens and closes, so they only count and never wait. A user's
/// first connection makes a `join`; a user left with none makes a `leave`
/// only once `leaveGrace` has passed without a new one, so a reconnect makes
/// no leave/join pair. The grace is checked by `tick`, which the server calls
/// from one event loop's periodic tick (every 250 ms): no thread of its own.
///
/// Events go to `output` while the registry's lock is held, so they leave in
/// the order things happened, and `snapshot` (which reads the presence
/// channel's last id under the same lock) is exact: its figures are those
/// after the event with that id and before the next.
///
/// With `--redis` the registry is this node's share only: `onChange` hands
/// every changed channel or member to `SharedPresence`, which reads it back
/// (`shares`) and decides `join`/`leave` over all nodes; `output` is unused.
public final class PresenceRegistry: Sendable {
    /// Nanoseconds a user (or a channel) stays without a connection before it leaves.
    public let leaveGraceNanos: UInt64
    private let clock: @Sendable () -> UInt64
    private let output: @Sendable (PresenceEvent) -> Void
    private let lastEventID: @Sendable (String) -> EventID?
    private let onChange: (@Sendable (PresenceKey) -> Void)?
    private let state = Locked(RegistryState())

    /// - Parameters:
    ///   - leaveGrace: seconds without a connection before `leave` (`--leave-grace`).
    ///   - clock: monotonic nanoseconds (the loops' clock, so tests can turn it).
    ///   - lastEventID: the id of the newest event of a `presence/` channel.
    ///   - output: gets every event, in order, under the registry's lock: it
    ///     must be quick and must not call back into the registry.
    ///   - onChange: told, under the lock, of each channel (user nil) or member
    ///     whose connections changed or that went after the grace.
    public init(
        leaveGrace: Double, clock: @escaping @Sendable () -> UInt64,
        lastEventID: @escaping @Sendable (String) -> EventID? = { _ in nil },
        onChange: (@Sendable (PresenceKey) -> Void)? = nil,
        output: @escaping @Sendable (PresenceEvent) -> Void
    ) {
        self.onChange = onChange
        leaveGraceNanos = UInt64(max(0, leaveGrace) * 1e9)
        self.clock = clock
        self.lastEventID = lastEventID
        self.output = output
    }

    /// The channel that carries `channel`'s `join` and `leave` events.
    public static func presenceChannel(for channel: String) -> String { "presence/" + channel }

    /// A connection to `channel` opened; `user` nil for an anonymous one.
    public func join(channel: String, user: String?, info: String?) {
        state.withLock { state in
            let presence: ChannelPresence
            if let existing = state.channels[channel] {
                presence = existing
            } else {
                presence = ChannelPresence()
                state.channels[channel] = presence
            }
            presence.connections += 1
            presence.vacantSince = nil
            onChange?(PresenceKey(channel: channel, user: nil))
            if !presence.occupied {
                presence.occupied = true
                output(.webhook(WebhookEvent(.channelOccupied, channel: channel)))
            }
            guard let user else { return }
            onChange?(PresenceKey(channel: channel, user: user))
            if let index = presence.users.index(forKey: user) {
                // A reconnect within the grace: counted, and nothing said.
                if presence.users.values[index].connections == 0 { presence.idle.remove(user) }
                presence.users.values[index].connections += 1
                if let info { presence.users.values[index].info = info }
            } else {
                presence.users[user] = Member(info: info, connections: 1, idleSince: 0)
                output(.join(channel: channel, user: user, info: info))
                output(.webhook(WebhookEvent(.memberAdded, channel: channel, user: user)))
            }
        }
    }

    /// A connection that joined `channel` as `user` closed. One without a
    /// matching `join` is ignored, so counts never go below zero.
    public func leave(channel: String, user: String?) {
        let now = clock()
        state.withLock { state in
            guard let presence = state.channels[channel], presence.connections > 0 else { return }
            presence.connections -= 1
            onChange?(PresenceKey(channel: channel, user: nil))
            if presence.connections == 0 {
                presence.vacantSince = now
                state.expiring.insert(channel)
            }
            guard let user, let index = presence.users.index(forKey: user), presence.users.values[index].connections > 0 else { return }
            presence.users.values[index].connections -= 1
            onChange?(PresenceKey(channel: channel, user: user))
            if presence.users.values[index].connections == 0 {
                presence.users.values[index].idleSince = now
                presence.idle.insert(user)
                state.expiring.insert(channel)
            }
        }
    }

    /// Says `leave`, `member_removed` and `channel_vacated` for whatever has
    /// been without a connection for the grace at `now` (monotonic nanoseconds).
    public func tick(now: UInt64) {
        state.withLock { state in
            guard !state.expiring.isEmpty else { return }
            for name in state.expiring {
                guard let presence = state.channels[name] else {
                    state.expiring.remove(name)
                    continue
                }
                if expire(presence, channel: name, now: now) {
                    state.channels[name] = nil
                    state.expiring.remove(name)
                } else if presence.idle.isEmpty && presence.vacantSince == nil {
                    state.expiring.remove(name)
                }
            }
        }
    }

    /// `tick` at the registry clock's time.
    public func tick() { tick(now: clock()) }

    private func isOver(_ since: UInt64, _ now: UInt64) -> Bool { now >= since && now - since >= leaveGraceNanos }

    /// Removes idle members past the grace; true when the whole channel is vacated.
    private func expire(_ presence: ChannelPresence, channel: String, now: UInt64) -> Bool {
        if !presence.idle.isEmpty {
            var gone: [(user: String, since: UInt64)] = []
            for user in presence.idle {
                if let member = presence.users[user], member.connections == 0, isOver(member.idleSince, now) {
                    gone.append((user, member.idleSince))
                }
            }
            // Oldest first, and by name within one instant: a stable order.
            gone.sort { $0.since != $1.since ? $0.since < $1.since : $0.user < $1.user }
            for (user, _) in gone {
                let info = presence.users.removeValue(forKey: user)?.info
                presence.idle.remove(user)
                onChange?(PresenceKey(channel: channel, user: user))
                output(.leave(channel: channel, user: user, info: info))
                output(.webhook(WebhookEvent(.memberRemoved, channel: channel, user: user)))
            }
        }
        guard presence.connections == 0, let since = presence.vacantSince, isOver(since, now), presence.users.isEmpty else {
            return false
        }
        if presence.occupied { output(.webhook(WebhookEvent(.channelVacated, channel: channel))) }
        onChange?(PresenceKey(channel: channel, user: nil))
        return true
    }

    // MARK: - reading

    /// `{"channel", "lastEventId", "connections", "users": [{"user", "info",
    /// "connections"}]}`: users by name, including those within the leave
    /// grace (0 connections, no `leave` yet). `lastEventId` is the newest id
    /// of `presence/{channel}` (`0` when it has none), so subscribing from it
    /// gives exactly the changes after these figures.
    public func snapshot(_ channel: String) -> String {
        state.withLock { state in
            let last = lastEventID(Self.presenceChannel(for: channel))?.description ?? "0"
            guard let presence = state.channels[channel] else {
                return PresenceSnapshot(channel: channel, lastEventID: last, connections: 0, users: []).json
            }
            let users = presence.users.map { PresenceSnapshot.User(user: $0.key, info: $0.value.info, connections: $0.value.connections) }
            return PresenceSnapshot(channel: channel, lastEventID: last, connections: presence.connections, users: users).json
        }
    }

    /// This node's shares of `keys` as they are now (the channel removed after
    /// the grace reads as gone, connections nil).
    public func shares(of keys: some Sequence<PresenceKey>) -> [PresenceShare] {
        state.withLock { state in
            keys.map { key in
                guard let presence = state.channels[key.channel] else { return PresenceShare(key: key, connections: nil) }
                guard let user = key.user else { return PresenceShare(key: key, connections: presence.connections) }
                guard let member = presence.users[user] else { return PresenceShare(key: key, connections: nil) }
                return PresenceShare(key: key, connections: member.connections, info: member.info)
            }
        }
    }

    /// Every channel and member this node holds (a full resync).
    public func allKeys() -> [PresenceKey] {
        state.withLock { state in
            var keys: [PresenceKey] = []
            for (channel, presence) in state.channels {
                keys.append(PresenceKey(channel: channel, user: nil))
                for user in presence.users.keys { keys.append(PresenceKey(channel: channel, user: user)) }
            }
            return keys
        }
    }

    /// Connections and users per channel that has any, by channel name.
    public func counts() -> [PresenceCount] {
        let counts = state.withLock { state in
            state.channels.map { PresenceCount(channel: $0.key, connections: $0.value.connections, users: $0.value.users.count) }
        }
        return counts.sorted { $0.channel < $1.channel }
    }
}

/// One channel's figures, for `/metrics`.
public struct PresenceCount: Sendable, Equatable {
    public var channel: String
    public var connections: Int
    /// Users present, including those within the leave grace.
    public var users: Int
}

/// A user's place in one channel.
struct Member {
    var info: String?
    var connections: Int
    /// When the last connection closed (monotonic ns); meaningful at 0 connections.
    var idleSince: UInt64
}

/// One channel's presence. A class so the dictionaries inside are changed in
/// place (a struct taken out of the table would copy its users on each change).
final class ChannelPresence {
    var connections = 0
    var users: [String: Member] = [:]
    /// Users with no connection, waiting out the grace.
    var idle: Set<String> = []
    /// When the last connection closed; nil while any is open.
    var vacantSince: UInt64?
    /// `channel_occupied` said and `channel_vacated` not yet.
    var occupied = false
}

/// The registry's state, guarded by its lock.
struct RegistryState: ~Copyable {
    var channels: [String: ChannelPresence] = [:]
    /// Channels with idle users or no connections: the ones `tick` looks at.
    var expiring: Set<String> = []
}
