import Reactor

/// Where events are published and subscribers find them: channels by name, ids,
/// and the hand-off to the event loops.
///
/// `publish` is safe from any thread and never blocks on an event loop: it takes
/// one short lock, encodes each event once into a log, marks the loops that have
/// subscribers of that channel, and wakes each of them once per batch.
public final class Hub: @unchecked Sendable {
    public let bufferSize: Int
    private let lock = Lock()
    private var channels: [String: Channel] = [:]
    private var generator = EventIDGenerator()
    private var closed = false
    private let groups: [DeliveryGroup]
    private let clock: @Sendable () -> UInt64

    /// - Parameters:
    ///   - bufferSize: events kept per channel for replay.
    ///   - groupCount: how many event loops deliver (at most 64).
    ///   - clock: wall-clock milliseconds, for ids.
    public init(bufferSize: Int, groupCount: Int = 1, clock: @escaping @Sendable () -> UInt64 = { Clock.wallMillis() }) {
        precondition(groupCount >= 1 && groupCount <= 64, "1 to 64 delivery groups")
        self.bufferSize = max(bufferSize, 1)
        self.groups = (0..<groupCount).map { DeliveryGroup(index: $0) }
        self.clock = clock
    }

    public func group(_ index: Int) -> DeliveryGroup { groups[index] }
    public var groupCount: Int { groups.count }

    // MARK: - publishing

    /// Publishes events to one channel, in order; returns their ids.
    @discardableResult
    public func publish(_ events: [Event], to channel: String) throws(PublishError) -> [EventID] {
        guard ChannelName.isValid(channel) else { throw .invalidChannel(channel) }
        for event in events where !Event.isValidType(event.type) { throw .invalidEventType(event.type) }
        return try append(events.count, channel: { _ in channel }, event: { events[$0] })
    }

    /// Publishes events that each name their channel (json records), in order.
    @discardableResult
    public func publish(routed: [(channel: String, event: Event)]) throws(PublishError) -> [EventID] {
        var checked: String? = nil
        for (channel, event) in routed {
            // A batch usually names one channel over and over: check it once.
            if channel != checked {
                guard ChannelName.isValid(channel) else { throw .invalidChannel(channel) }
                checked = channel
            }
            guard event.type == "message" || Event.isValidType(event.type) else { throw .invalidEventType(event.type) }
        }
        return try append(routed.count, channel: { routed[$0].channel }, event: { routed[$0].event })
    }

    /// Publishes events given as bytes (`RecordBatch`) to one channel, in order,
    /// all under one lock and with no `String` per event: the path of the `line`
    /// format (stdin, tail, exec, streaming uploads). Returns their ids.
    @discardableResult
    public func publish(_ batch: RecordBatch, type: String = "message", to channel: String) throws(PublishError) -> [EventID] {
        guard ChannelName.isValid(channel) else { throw .invalidChannel(channel) }
        guard type == "message" || Event.isValidType(type) else { throw .invalidEventType(type) }
        let count = batch.count
        guard count > 0 else { return [] }
        var ids: [EventID] = []
        ids.reserveCapacity(count)
        var toWake: UInt64 = 0
        let now = clock()
        lock.lock()
        if closed {
            lock.unlock()
            throw .shuttingDown
        }
        let target = channelLocked(channel)
        batch.withData { data in
            for i in 0..<count {
                let id = generator.next(nowMillis: now)
                target.log.append(EventEncoder.encode(id: id, type: type, data: data(i)))
                ids.append(id)
            }
        }
        target.publishedCount += UInt64(count)
        target.lastID = ids[count - 1]
        for group in groups where target.subscribersByGroup[group.index] > 0 {
            // Each loop is told once per channel until it syncs.
            let bit = UInt64(1) << UInt64(group.index)
            if target.pendingGroups & bit != 0 { continue }
            target.pendingGroups |= bit
            group.dirty.append(target)
            if !group.wakePending {
                group.wakePending = true
                toWake |= 1 << UInt64(group.index)
            }
        }
        lock.unlock()
        while toWake != 0 {
            let index = toWake.trailingZeroBitCount
            toWake &= toWake - 1
            groups[index].wake()
        }
        return ids
    }

    @inline(__always)
    private func append(
        _ count: Int, channel channelName: (Int) -> String, event eventAt: (Int) -> Event
    ) throws(PublishError) -> [EventID] {
        guard count > 0 else { return [] }
        var ids: [EventID] = []
        ids.reserveCapacity(count)
        var toWake: UInt64 = 0
        let now = clock()
        lock.lock()
        if closed {
            lock.unlock()
            throw .shuttingDown
        }
        var target = channelLocked(channelName(0))
        for i in 0..<count {
            if i > 0 {
                let name = channelName(i)
                if target.name != name { target = channelLocked(name) }
            }
            let event = eventAt(i)
            let id = generator.next(nowMillis: now)
            target.log.append(EventEncoder.encode(id: id, type: event.type, data: event.data))
            target.publishedCount += 1
            target.lastID = id
            ids.append(id)
            for group in groups where target.subscribersByGroup[group.index] > 0 {
                // Each loop is told once per channel until it syncs.
                let bit = UInt64(1) << UInt64(group.index)
                if target.pendingGroups & bit != 0 { continue }
                target.pendingGroups |= bit
                group.dirty.append(target)
                if !group.wakePending {
                    group.wakePending = true
                    toWake |= 1 << UInt64(group.index)
                }
            }
        }
        lock.unlock()
        while toWake != 0 {
            let index = toWake.trailingZeroBitCount
            toWake &= toWake - 1
            groups[index].wake()
        }
        return ids
    }

    private func channelLocked(_ name: String) -> Channel {
        if let existing = channels[name] { return existing }
        let channel = Channel(name: name, log: MemoryLog(capacity: bufferSize), groupCount: groups.count)
        channels[name] = channel
        return channel
    }

    // MARK: - delivery (called on a group's own event loop thread)

    /// Brings every window of the group up to its channel's end; returns the
    /// windows that received events. The array is reused by the next call.
    public func sync(_ group: DeliveryGroup) -> [ChannelWindow] {
        lock.withLock { syncLocked(group) }
        return group.updated
    }

    private func syncLocked(_ group: DeliveryGroup) {
        group.updated.removeAll(keepingCapacity: true)
        group.wakePending = false
        let bit = UInt64(1) << UInt64(group.index)
        for channel in group.dirty {
            channel.pendingGroups &= ~bit
            guard let window = group.windows[channel.name] else { continue }
            let before = window.end
            window.appendNew(from: channel.log)
            if window.end != before { group.updated.append(window) }
        }
        group.dirty.removeAll(keepingCapacity: true)
    }

    /// Registers a subscriber of `names` on `group`. With `after`, the cursors
    /// start at the first buffered event with a greater id (replay); without, at
    /// the end (live only). Every window of the group is synced first, so events
    /// of all channels reach a multi-channel subscriber in id order.
    public func subscribe(_ group: DeliveryGroup, to names: [String], after: EventID?) -> SubscribeResult {
        lock.withLock {
            syncLocked(group)
            var result = SubscribeResult(windows: [], cursors: [], gap: nil, synced: group.updated)
            var losses: [GapNotice.Loss] = []
            for name in names {
                let channel = channelLocked(name)
                let log = channel.log
                let window: ChannelWindow
                if let existing = group.windows[name] {
                    window = existing
                } else {
                    window = ChannelWindow(channel: channel, start: log.endSequence, capacity: bufferSize)
                    group.windows[name] = window
                }
                window.subscriptions += 1
                channel.subscribersByGroup[group.index] += 1
                var cursor = log.endSequence
                if let after {
                    cursor = log.firstSequence(after: after)
                    window.extendBack(to: cursor, from: log)
                    if after != .zero, let dropped = log.lastDroppedID, after < dropped {
                        let resumes = log.startSequence < log.endSequence ? log.event(at: log.startSequence).id : nil
                        losses.append(GapNotice.Loss(channel: name, lostThrough: dropped, resumesAt: resumes))
                    }
                }
                result.windows.append(window)
                result.cursors.append(cursor)
            }
            if let after, !losses.isEmpty {
                result.gap = GapNotice.data(
                    lastEventID: after, losses: losses,
                    message: "events after lastEventId are no longer buffered; what follows is all the buffer has")
            }
            return result
        }
    }

    /// Removes one subscription of `window`'s channel from `group`.
    public func unsubscribe(_ group: DeliveryGroup, from window: ChannelWindow) {
        lock.withLock {
            window.subscriptions -= 1
            window.channel.subscribersByGroup[group.index] -= 1
            if window.subscriptions == 0 {
                group.windows[window.name] = nil
            }
            // A channel that never had an event and has no one left listening
            // is forgotten, so subscribing to made-up names costs nothing lasting.
            let channel = window.channel
            if channel.log.endSequence == 0 && channel.subscriberCount == 0 && channels[channel.name] === channel {
                channels[channel.name] = nil
            }
        }
    }

    // MARK: - state

    /// Refuses further publishing (graceful shutdown).
    public func close() { lock.withLock { closed = true } }
    public var isClosed: Bool { lock.withLock { closed } }

    /// The last id handed out.
    public var lastID: EventID { lock.withLock { generator.last } }

    public func channelInfos() -> [ChannelInfo] {
        lock.withLock {
            channels.values.map { channel in
                ChannelInfo(
                    name: channel.name, subscribers: channel.subscriberCount,
                    buffered: Int(channel.log.endSequence - channel.log.startSequence),
                    lastID: channel.lastID, published: channel.publishedCount)
            }.sorted { $0.name < $1.name }
        }
    }
}
