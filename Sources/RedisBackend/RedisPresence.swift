import Dispatch
import EventStream
import Glibc
import Presence
import RESP
import Reactor

/// Presence over every node sharing one Redis (`--redis`): this node keeps its
/// share there (`ssesrv_presence`), Redis decides `join`/`leave` and the
/// webhook transitions on the sums, and appends the events to the shared log,
/// so every node's follower brings them into `presence/{channel}` with the
/// same ids. See `EventLogFunctions` for the keys.
///
/// Changes come from the registry as keys (`changed`), gathered in a locked
/// set and sent in one call at a time on the store's loop and command
/// connection; what is sent is read from the registry when sending (absolute,
/// not a delta), so whatever changed meanwhile is coalesced and a call that
/// failed is simply sent again. The same call is the node's heartbeat: Redis
/// keeps the node for `ttlMillis` after it; every node also sweeps out nodes
/// not heard from in time (`ssesrv_presence_sweep`), whose users then leave.
/// A node unknown to Redis (swept, or Redis emptied) sends its whole share.
public final class RedisPresence: SharedPresence, @unchecked Sendable {
    /// The node's name and its timings.
    public struct Configuration: Sendable {
        /// Unique per process: a restarted node is a new node.
        public var nodeID: String
        /// A node not heard from this long drops out (`--presence-ttl`).
        public var ttlMillis: UInt64 = 10_000
        /// `--leave-grace`: on a graceful stop the node lapses after this long.
        public var leaveGraceMillis: UInt64 = 5_000
        /// Shares per call; more wait for the next.
        public var batch = 500

        public init(nodeID: String = RedisPresence.makeNodeID()) {
            self.nodeID = nodeID
        }

        /// How often the node says it is alive and sweeps: every second, or a
        /// third of the TTL when that is shorter.
        public var heartbeatNanos: UInt64 { max(10, min(1_000, ttlMillis / 3)) * 1_000_000 }
    }

    /// `HOST-PID-RANDOM`.
    public static func makeNodeID() -> String {
        var name = [CChar](repeating: 0, count: 256)
        let host = gethostname(&name, name.count - 1) == 0 ? String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self) : "node"
        return "\(host)-\(getpid())-\(String(UInt64.random(in: 0...UInt64.max), radix: 36))"
    }

    public let configuration: Configuration
    private let store: RedisStore
    private var log: RedisEventLog { store.log }
    private var loop: EventLoop { store.loop }
    private let prefix: String
    private let nodesKey: String
    /// Keys changed since the last call was made, and whether a flush is on its way to the loop.
    private let pending = Locked(Pending())

    /// Loop-owned from here on.
    private var registry: PresenceRegistry?
    private var webhooks: (@Sendable (WebhookEvent) -> Void)?
    private var inFlight = false
    private var sweeping = false
    /// Redis does not know this node: the next call sends everything.
    private var resync = true
    private var lastSent: UInt64 = 0
    private var retryScheduled = false
    private var stopping = false
    private var stopped: (() -> Void)?

    public init(store: RedisStore, configuration: Configuration) {
        self.store = store
        self.configuration = configuration
        prefix = store.log.configuration.keyPrefix + "pr:"
        nodesKey = prefix + "nodes"
    }

    // MARK: - SharedPresence

    public func changed(_ key: PresenceKey) {
        let first = pending.withLock { pending in
            pending.keys.insert(key)
            defer { pending.queued = true }
            return !pending.queued
        }
        if first { loop.execute { [self] in flush() } }
    }

    public func start(registry: PresenceRegistry, webhooks: @escaping @Sendable (WebhookEvent) -> Void) {
        loop.execute { [self] in
            self.registry = registry
            self.webhooks = webhooks
            flush(heartbeat: true)
            beat()
        }
    }

    public func snapshot(_ channel: String, done: @escaping @Sendable (Result<PresenceSnapshot, PresenceUnavailable>) -> Void) {
        loop.execute { [self] in
            let stream = log.channelPrefix + PresenceRegistry.presenceChannel(for: channel)
            log.call(["FCALL_RO", "ssesrv_presence_snapshot", 1, stream, prefix, channel], on: log.commands) { result in
                switch result {
                case .failure(let error): done(.failure(PresenceUnavailable(error.description)))
                case .success(let value):
                    guard let snapshot = Self.snapshot(value, channel: channel) else {
                        done(.failure(PresenceUnavailable("ssesrv_presence_snapshot answered \(value)")))
                        return
                    }
                    done(.success(snapshot))
                }
            }
        }
    }

    public func stop() {
        // A store never started (or stopped first) has no loop running to do it.
        guard store.isRunning else { return }
        let finished = DispatchSemaphore(value: 0)
        loop.execute { [self] in
            stopping = true
            stopped = { finished.signal() }
            if !inFlight { flush(heartbeat: true) }
        }
        // The loop may be gone already, or Redis away: the share then lapses after the TTL.
        _ = finished.wait(timeout: .now() + .milliseconds(Int(min(3_000, store.configuration.publishTimeoutMillis * 2))))
    }

    // MARK: - on the loop

    private static func snapshot(_ value: RESPValue, channel: String) -> PresenceSnapshot? {
        guard let parts = value.array, parts.count == 3, let last = parts[0].string, let connections = parts[1].integer,
            let flat = parts[2].array, flat.count % 3 == 0
        else { return nil }
        var users: [PresenceSnapshot.User] = []
        var index = 0
        while index < flat.count {
            guard let user = flat[index].string, let info = flat[index + 1].string, let count = flat[index + 2].integer else { return nil }
            users.append(PresenceSnapshot.User(user: user, info: info.isEmpty ? nil : info, connections: Int(count)))
            index += 3
        }
        return PresenceSnapshot(channel: channel, lastEventID: last, connections: Int(connections), users: users)
    }

    /// The append parameters every presence function takes after its own.
    private var appendArguments: [any RESPArgument] {
        let c = log.configuration
        return [c.logMaxLength, c.channelMaxLength, c.channelTTLSeconds, log.channelPrefix, store.highest.description]
    }

    /// Sends what changed (all of it after a resync); with `heartbeat`, even nothing.
    private func flush(heartbeat: Bool = false) {
        guard let registry, !inFlight else { return }
        var keys = pending.withLock { pending in
            defer { pending = Pending() }
            return pending.keys
        }
        let resending = resync
        if resync { keys.formUnion(registry.allKeys()) }
        guard !keys.isEmpty || heartbeat || (stopping && stopped != nil) else { return }
        var ordered = Array(keys)
        if ordered.count > configuration.batch {
            let rest = ordered[configuration.batch...]
            ordered.removeLast(ordered.count - configuration.batch)
            pending.withLock { $0.keys.formUnion(rest) }
        }
        let shares = Self.ordered(registry.shares(of: ordered))
        let ttl = stopping ? configuration.leaveGraceMillis : configuration.ttlMillis
        var arguments: [any RESPArgument] = ["FCALL", "ssesrv_presence", 3, log.logKey, log.originKey, nodesKey, configuration.nodeID, Int(ttl), prefix]
        arguments += appendArguments
        for share in shares {
            let user = share.key.user ?? ""
            arguments.append(share.key.channel)
            arguments.append(user)
            arguments.append(share.connections ?? -1)
            arguments.append(share.info ?? "")
            let presenceChannel = PresenceRegistry.presenceChannel(for: share.key.channel)
            arguments.append(user.isEmpty || !ChannelName.isValid(presenceChannel) ? "" : PresenceEvent.memberJSON(user: user, info: share.info))
        }
        inFlight = true
        resync = false
        lastSent = loop.now
        let finishing = stopping
        log.call(arguments, on: log.commands) { [self] result in
            inFlight = false
            switch result {
            case .success(let value):
                if let answer = value.array, answer.count == 3, answer[0].integer == 1 { resync = true }
                deliver(value)
                if finishing, let stopped, !resync, pending.withLock({ $0.keys.isEmpty }) {
                    self.stopped = nil
                    stopped()
                    return
                }
                if resync || !pending.withLock({ $0.keys.isEmpty }) || (stopping && stopped != nil) { flush() }
            case .failure:
                // Absolute figures: sending them again later is all a retry needs.
                pending.withLock { $0.keys.formUnion(ordered) }
                if resending { resync = true }
                if stopping, let stopped {
                    self.stopped = nil
                    stopped()
                    return
                }
                retryLater()
            }
        }
    }

    /// Channels present before their members, channels gone after them: the
    /// webhooks then come as a single node's would (occupied, added, removed, vacated).
    private static func ordered(_ shares: [PresenceShare]) -> [PresenceShare] {
        func rank(_ share: PresenceShare) -> Int { share.key.user != nil ? 1 : share.connections == nil ? 2 : 0 }
        return shares.sorted { a, b in
            if a.key.channel != b.key.channel { return a.key.channel < b.key.channel }
            if rank(a) != rank(b) { return rank(a) < rank(b) }
            return (a.key.user ?? "") < (b.key.user ?? "")
        }
    }

    private func retryLater() {
        guard !retryScheduled else { return }
        retryScheduled = true
        loop.schedule(after: 250_000_000) { [self] in
            retryScheduled = false
            flush()
        }
    }

    /// The webhook transitions of an answer (`{resync, {name, channel, user}..., id}`).
    private func deliver(_ value: RESPValue) {
        guard let answer = value.array, answer.count == 3, let flat = answer[1].array, let webhooks else { return }
        var index = 0
        while index + 2 < flat.count {
            if let text = flat[index].string, let name = WebhookEvent.Name(rawValue: text), let channel = flat[index + 1].string {
                let user = flat[index + 2].string.flatMap { $0.isEmpty ? nil : $0 }
                webhooks(WebhookEvent(name, channel: channel, user: user))
            }
            index += 3
        }
    }

    /// The heartbeat and the sweep, every `heartbeatNanos` until the stop.
    private func beat() {
        guard !stopping else { return }
        let interval = configuration.heartbeatNanos
        if !inFlight && loop.now &- lastSent >= interval / 2 { flush(heartbeat: true) }
        sweep()
        loop.schedule(after: interval) { [weak self] in self?.beat() }
    }

    private func sweep() {
        guard !sweeping else { return }
        sweeping = true
        let arguments: [any RESPArgument] = ["FCALL", "ssesrv_presence_sweep", 3, log.logKey, log.originKey, nodesKey, prefix] + appendArguments
        log.call(arguments, on: log.commands) { [self] result in
            sweeping = false
            if case .success(let value) = result { deliver(value) }
        }
    }
}

/// The registry's changes not sent yet.
private struct Pending {
    var keys: Set<PresenceKey> = []
    var queued = false
}
