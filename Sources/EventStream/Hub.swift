import Glibc
import Reactor
import Synchronization

/// Where events are published and subscribers find them: channels by name, ids,
/// the budgets, and the hand-off to the event loops.
///
/// Publishing is safe from any thread and never waits on an event loop.
/// Publishers take the publish lock, which numbers and encodes their events in
/// order, and then the state lock only to link the encoded events into the
/// channels and mark the loops to wake; the loops take only the state lock, so
/// a large event being encoded never holds up their delivery.
/// With an `EventStore`, the store numbers events and the hub takes them in
/// through `ingest`; its rings are then a cache of the store.
public final class Hub: Sendable {
    public let bufferSize: Int
    public let limits: HubLimits
    /// The shared store, when there is one (nil: this process's memory alone).
    public let store: EventStore?
    private let groups: [DeliveryGroup]
    private let clock: @Sendable () -> UInt64
    /// Numbers events; held while encoding so a channel's events stay in id order.
    private let numbering: Locked<EventIDGenerator>
    private let state: Locked<HubState>
    private let counters = HubCounters()

    /// - Parameters:
    ///   - bufferSize: events kept per channel for replay.
    ///   - groupCount: how many event loops deliver (at most 64).
    ///   - clock: wall-clock milliseconds, for ids.
    ///   - store: where events are numbered and kept, when not here.
    public init(
        bufferSize: Int, groupCount: Int = 1, limits: HubLimits = HubLimits(), store: EventStore? = nil,
        clock: @escaping @Sendable () -> UInt64 = { Clock.wallMillis() }
    ) {
        precondition(groupCount >= 1 && groupCount <= 64, "1 to 64 delivery groups")
        self.bufferSize = max(bufferSize, 1)
        self.limits = limits
        self.store = store
        self.groups = (0..<groupCount).map { DeliveryGroup(index: $0) }
        self.clock = clock
        numbering = Locked(EventIDGenerator())
        state = Locked(HubState())
    }

    public func group(_ index: Int) -> DeliveryGroup { groups[index] }
    public var groupCount: Int { groups.count }

    // MARK: - publishing

    /// Publishes events to one channel, in order; returns their ids. With a
    /// store this waits for it, so call it from a source's thread, not a loop.
    @discardableResult
    public func publish(_ events: [Event], to channel: String) throws(PublishError) -> [EventID] {
        try publish(routed: events.map { (channel, $0) })
    }

    /// Publishes events that each name their channel (json records), in order.
    @discardableResult
    public func publish(routed: [(channel: String, event: Event)]) throws(PublishError) -> [EventID] {
        try validate(routed.count, channel: { routed[$0].channel }, type: { routed[$0].event.type })
        guard let store else {
            return try appendLocally(routed.count, channel: { routed[$0].channel }, event: { routed[$0].event })
        }
        return try Self.wait(for: store, routed.map { RoutedEvent(channel: $0.channel, event: $0.event) })
    }

    /// Publishes events given as bytes (`RecordBatch`) to one channel, in order,
    /// with no `String` per event: the path of the `line` format (stdin, tail,
    /// exec, streaming uploads). With a store this waits for it.
    @discardableResult
    public func publish(_ batch: RecordBatch, type: String = "message", to channel: String) throws(PublishError) -> [EventID] {
        try validate(1, channel: { _ in channel }, type: { _ in type })
        guard let store else { return try appendLocally(batch, type: type, to: channel) }
        return try Self.wait(for: store, batch.routed(type: type, to: channel))
    }

    /// `publish(_:type:to:)` without waiting, as `submit` is for events.
    public func submit(
        _ batch: RecordBatch, type: String = "message", to channel: String,
        done: @escaping @Sendable (Result<[EventID], PublishError>) -> Void
    ) {
        do throws(PublishError) {
            try validate(1, channel: { _ in channel }, type: { _ in type })
        } catch {
            return done(.failure(error))
        }
        submit(
            channels: { [channel] }, local: { () throws(PublishError) in try appendLocally(batch, type: type, to: channel) },
            remote: { batch.routed(type: type, to: channel) }, done: done)
    }

    /// Numbers and keeps validated events here (`local`), or hands them to the store.
    private func submit(
        channels: () -> [String], local: () throws(PublishError) -> [EventID], remote: () -> [RoutedEvent],
        done: @escaping @Sendable (Result<[EventID], PublishError>) -> Void
    ) {
        do throws(PublishError) {
            guard let store else { return done(.success(try local())) }
            guard !isClosed else { throw .shuttingDown }
            try checkChannelBudget(channels())
            store.append(remote(), done: done)
        } catch {
            done(.failure(error))
        }
    }

    private func appendLocally(_ batch: RecordBatch, type: String, to channel: String) throws(PublishError) -> [EventID] {
        // The bytes are read while the batch is held, inside the numbering lock.
        var encoder = BatchEventEncoder(type: type)
        let result = batch.withData { data in
            Result { () throws(PublishError) in
                try appendLocally(batch.count, channel: { _ in channel }) { encoder.encode(id: $1, data: data($0)) }
            }
        }
        return try result.get()
    }

    /// Publishes without waiting: `done` gets the ids once they are kept (at
    /// once, on this thread, without a store; later, on another thread, with one).
    public func submit(_ batch: [RoutedEvent], done: @escaping @Sendable (Result<[EventID], PublishError>) -> Void) {
        do throws(PublishError) {
            try validate(batch.count, channel: { batch[$0].channel }, type: { batch[$0].event.type })
        } catch {
            return done(.failure(error))
        }
        submit(
            channels: { batch.map(\.channel) },
            local: { () throws(PublishError) in try appendLocally(batch.count, channel: { batch[$0].channel }, event: { batch[$0].event }) },
            remote: { batch }, done: done)
    }

    private static func wait(for store: EventStore, _ batch: [RoutedEvent]) throws(PublishError) -> [EventID] {
        let answer = Locked<Result<[EventID], PublishError>?>(nil)
        let ready = Semaphore()
        store.append(batch) { result in
            answer.withLock { $0 = result }
            ready.signal()
        }
        ready.wait()
        guard let result = answer.withLock({ $0 }) else { throw .unavailable("the store did not answer") }
        return try result.get()
    }

    private func validate(_ count: Int, channel: (Int) -> String, type: (Int) -> String) throws(PublishError) {
        var checked: String? = nil
        for i in 0..<count {
            let name = channel(i)
            // A batch usually names one channel over and over: check it once.
            if name != checked {
                guard ChannelName.isValid(name) else { throw .invalidChannel(name) }
                guard !ChannelName.isReserved(name) else { throw .reservedChannel(name) }
                checked = name
            }
            let eventType = type(i)
            guard eventType == "message" || Event.isValidType(eventType) else { throw .invalidEventType(eventType) }
        }
    }

    /// Refuses a batch that would create more channels than the budget allows.
    private func checkChannelBudget(_ names: [String]) throws(PublishError) {
        try state.withLock { (state: inout HubState) throws(PublishError) in
            var new = 0
            var seen: Set<String> = []
            for name in names where state.channels[name] == nil && seen.insert(name).inserted { new += 1 }
            if state.channels.count + new > limits.maxChannels { throw .tooManyChannels(limits.maxChannels) }
        }
    }

    private func appendLocally(
        _ count: Int, channel channelName: (Int) -> String, event eventAt: (Int) -> Event
    ) throws(PublishError) -> [EventID] {
        try appendLocally(count, channel: channelName) { i, id in
            let event = eventAt(i)
            return EventEncoder.encode(id: id, type: event.type, data: event.data)
        }
    }

    /// Numbers `count` events in order under the publish lock, encodes each
    /// once (`encode(index, id)`), and links them into their channels.
    private func appendLocally(
        _ count: Int, channel channelName: (Int) -> String, encode: (Int, EventID) -> WireEvent
    ) throws(PublishError) -> [EventID] {
        guard count > 0 else { return [] }
        return try numbering.withLock { (generator: inout EventIDGenerator) throws(PublishError) -> [EventID] in
            guard !isClosed else { throw .shuttingDown }
            let now = clock()
            var ids: [EventID] = []
            ids.reserveCapacity(count)
            // Not an array: `link` moves each event out into its log, so the reference
            // made by the encoder is the log's, with no retain and release per event
            // (five atomic operations a copy from an array cost).
            let encoded = UnsafeMutablePointer<WireEvent>.allocate(capacity: count)
            var moved = 0
            defer {
                // A refused batch: `link` took none of them.
                (encoded + moved).deinitialize(count: count - moved)
                encoded.deallocate()
            }
            for i in 0..<count {
                let id = generator.next(nowMillis: now)
                ids.append(id)
                (encoded + i).initialize(to: encode(i, id))
            }
            try link(count, channel: channelName) { i in
                moved += 1
                return (encoded + i).move()
            }
            return ids
        }
    }

    /// Takes in events numbered elsewhere (the store's feed of every node's
    /// events), in id order. Events a channel already has are skipped, so a
    /// feed that repeats itself after a reconnect delivers nothing twice.
    public func ingest(_ events: [NumberedEvent]) {
        guard !events.isEmpty else { return }
        let encoded = events.map { EventEncoder.encode(id: $0.id, type: $0.type, data: $0.data) }
        numbering.withLock { generator in
            if let last = events.last?.id, last > generator.last { generator = EventIDGenerator(last: last) }
        }
        try? link(events.count, channel: { events[$0].channel }, encoded: { encoded[$0] }, skipKnown: true, creating: true)
    }

    /// Links encoded events into their channels under the state lock and wakes
    /// the loops that have subscribers of them.
    @inline(__always)
    private func link(
        _ count: Int, channel channelName: (Int) -> String, encoded: (Int) -> WireEvent,
        skipKnown: Bool = false, creating: Bool = false
    ) throws(PublishError) {
        var toWake: UInt64 = 0
        try state.withLock { (state: inout HubState) throws(PublishError) in
            if state.closed && !skipKnown { throw .shuttingDown }
            // Checked before anything is linked, so a refused batch leaves no trace.
            if !creating {
                var new = 0
                var last: String? = nil
                for i in 0..<count {
                    let name = channelName(i)
                    if name != last, state.channels[name] == nil { new += 1 }
                    last = name
                }
                if new > 0 && state.channels.count + new > limits.maxChannels { throw .tooManyChannels(limits.maxChannels) }
            }
            var target = channel(named: channelName(0), in: &state)
            // Held here, not loaded from the channel per event (a retain and release each).
            var log = target.log
            for i in 0..<count {
                if i > 0 {
                    let name = channelName(i)
                    if target.name != name {
                        target = channel(named: name, in: &state)
                        log = target.log
                    }
                }
                let event = encoded(i)
                let id = event.id
                if skipKnown {
                    if id > state.feedPosition { state.feedPosition = id }
                    if let last = target.lastID, id <= last { continue }
                    // A channel the feed just brought: complete from this event on.
                    if target.lastID == nil && log.count == 0 { target.cachedSince = id.predecessor }
                }
                state.bufferedBytes += log.append(event)
                target.publishedCount += 1
                target.lastID = id
                // By index: the group object is touched (retained) only when its loop
                // must be told, not for every event.
                for index in 0..<groups.count where target.subscribersByGroup[index] > 0 {
                    // Each loop is told once per channel until it syncs.
                    let bit = UInt64(1) << UInt64(index)
                    if target.pendingGroups & bit != 0 { continue }
                    target.pendingGroups |= bit
                    let group = groups[index]
                    group.dirty.append(target)
                    if !group.wakePending {
                        group.wakePending = true
                        toWake |= bit
                    }
                }
            }
            if state.bufferedBytes > limits.maxMemory { evict(&state) }
        }
        while toWake != 0 {
            let index = toWake.trailingZeroBitCount
            toWake &= toWake - 1
            groups[index].wake()
        }
    }

    private func channel(named name: String, in state: inout HubState) -> Channel {
        if let existing = state.channels[name] { return existing }
        let channel = Channel(name: name, log: MemoryLog(capacity: bufferSize), groupCount: groups.count)
        // With a store, this cache holds what the feed brings from here on.
        if store != nil { channel.cachedSince = state.feedPosition }
        state.channels[name] = channel
        return channel
    }

    /// Over the memory budget: forgets the oldest events of the largest
    /// channels until a tenth of the budget is free again.
    private func evict(_ state: inout HubState) {
        let target = limits.maxMemory - limits.maxMemory / 10
        var largest = state.channels.values.filter { $0.log.bytes > 0 }.sorted { (a: Channel, b: Channel) in a.log.bytes > b.log.bytes }
        var index = 0
        while state.bufferedBytes > target, !largest.isEmpty {
            let channel = largest[index]
            let freed = channel.log.dropOldest()
            state.bufferedBytes -= freed
            counters.evicted.add(1, ordering: .relaxed)
            if channel.log.bytes == 0 {
                largest.remove(at: index)
                if largest.isEmpty { break }
                index %= largest.count
            } else if index + 1 < largest.count && channel.log.bytes < largest[index + 1].log.bytes {
                index += 1
            } else {
                index = 0
            }
        }
    }

    /// Publishes the server's own events (presence `join`/`leave`) to a
    /// reserved `presence/` channel, numbered here whether or not there is a
    /// store; nil when refused (shutting down, over the channel budget).
    @discardableResult
    public func publishSystem(_ events: [Event], to channel: String) -> [EventID]? {
        try? appendLocally(events.count, channel: { _ in channel }, event: { events[$0] })
    }

    /// The id of the newest event `channel` has had; nil when it has had none.
    public func lastID(of channel: String) -> EventID? {
        state.withLock { $0.channels[channel]?.lastID }
    }

    // MARK: - delivery (called on a group's own event loop thread)

    /// Brings every window of the group up to its channel's end; returns the
    /// windows that received events. The array is reused by the next call.
    public func sync(_ group: DeliveryGroup) -> [ChannelWindow] {
        state.withLock { _ in syncLocked(group) }
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
    /// `lastEventID` is the client's text, echoed as sent in an `sse-gap`.
    /// `last` starts instead with the newest `last` buffered events of all the
    /// channels together, in id order.
    public func subscribe(
        _ group: DeliveryGroup, to names: [String], after: EventID?, lastEventID: String? = nil, last: Int? = nil
    ) throws(PublishError) -> SubscribeResult {
        try state.withLock { (state: inout HubState) throws(PublishError) -> SubscribeResult in
            let missing = Set(names.filter { state.channels[$0] == nil }).count
            if missing > 0 && state.channels.count + missing > limits.maxChannels { throw .tooManyChannels(limits.maxChannels) }
            syncLocked(group)
            var result = SubscribeResult(windows: [], cursors: [], gap: nil, synced: group.updated)
            var losses: [GapNotice.Loss] = []
            for name in names {
                let channel = channel(named: name, in: &state)
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
            if let last, after == nil {
                Self.startAtNewest(last, &result, logs: names.map { state.channels[$0]!.log })
            }
            if let after, !losses.isEmpty {
                result.gap = GapNotice.data(
                    lastEventID: lastEventID ?? after.description, losses: losses,
                    message: "events after lastEventId are no longer buffered; what follows is all the buffer has")
            }
            return result
        }
    }

    /// Moves the cursors back so that together they cover the newest `n`
    /// buffered events of all the channels.
    private static func startAtNewest(_ n: Int, _ result: inout SubscribeResult, logs: [MemoryLog]) {
        var positions = logs.map(\.endSequence)
        for _ in 0..<n {
            var best: Int? = nil
            for i in logs.indices where positions[i] > logs[i].startSequence {
                if best == nil || logs[i].event(at: positions[i] - 1).id > logs[best!].event(at: positions[best!] - 1).id { best = i }
            }
            guard let pick = best else { break }
            positions[pick] -= 1
        }
        for i in logs.indices {
            result.cursors[i] = positions[i]
            result.windows[i].extendBack(to: positions[i], from: logs[i])
        }
    }

    /// The ids from which each channel's cache is complete (`.zero` for a
    /// channel with no cache yet): a replay from before it must ask the store.
    public func cacheStart(of names: [String]) -> [EventID?] {
        state.withLock { state in
            names.map { name in
                guard let channel = state.channels[name] else { return nil }
                return channel.log.lastDroppedID ?? channel.cachedSince
            }
        }
    }

    /// Puts older events from the store in front of a channel's cache, as far
    /// as the cache has room, so a replay can read them like any other.
    public func backfill(_ name: String, after: EventID, with history: StoreHistory) {
        let encoded = history.events.map { EventEncoder.encode(id: $0.id, type: $0.type, data: $0.data) }
        state.withLock { state in
            let channel = channel(named: name, in: &state)
            state.bufferedBytes += channel.log.prepend(encoded)
            if let newest = encoded.last?.id, channel.lastID.map({ newest > $0 }) ?? true { channel.lastID = newest }
            if !history.complete {
                // The store forgot events after `after`: name the newest id
                // known to be before what it still has, and at least one
                // after `after`, so the replay is told with an `sse-gap`.
                let held = channel.log.count > 0 ? channel.log.event(at: channel.log.startSequence).id.predecessor : nil
                let known = history.lostThrough ?? history.events.first?.id.predecessor ?? held ?? state.feedPosition
                channel.log.noteDropped(max(known, EventID(millis: after.millis, sequence: after.sequence &+ 1)))
            }
            if let since = channel.cachedSince, after < since { channel.cachedSince = after }
        }
    }

    /// The store's feed lost events (this node fell behind the shared log by
    /// more than it holds, or the store was emptied): every replay from
    /// before `lostThrough` gets an `sse-gap`.
    public func noteFeedGap(lostThrough: EventID?) {
        state.withLock { state in
            let lost = lostThrough ?? state.feedPosition
            for channel in state.channels.values {
                channel.log.noteDropped(lost)
                channel.cachedSince = lost
            }
        }
    }

    /// Removes one subscription of `window`'s channel from `group`.
    public func unsubscribe(_ group: DeliveryGroup, from window: ChannelWindow) {
        state.withLock { state in
            window.subscriptions -= 1
            window.channel.subscribersByGroup[group.index] -= 1
            if window.subscriptions == 0 {
                group.windows[window.name] = nil
            }
            // A channel that never had an event and has no one left listening
            // is forgotten, so subscribing to made-up names costs nothing lasting.
            let channel = window.channel
            if channel.log.count == 0 && channel.publishedCount == 0 && channel.subscriberCount == 0 && state.channels[channel.name] === channel {
                state.channels[channel.name] = nil
            }
        }
    }

    // MARK: - state

    /// Refuses further publishing (graceful shutdown).
    public func close() { state.withLock { $0.closed = true } }
    public var isClosed: Bool { state.withLock { $0.closed } }

    /// The last id handed out or taken in.
    public var lastID: EventID { numbering.withLock { $0.last } }

    /// Bytes of events held in the channels' rings.
    public var bufferedBytes: Int { state.withLock { $0.bufferedBytes } }
    /// Events forgotten to stay within `--max-memory`.
    public var evictedEvents: UInt64 { counters.evicted.load(ordering: .relaxed) }
    public var channelCount: Int { state.withLock { $0.channels.count } }

    /// Every channel, by name. The copy is made under the lock, the sort outside it.
    public func channelInfos() -> [ChannelInfo] {
        let infos = state.withLock { state in
            state.channels.values.map { channel in
                ChannelInfo(
                    name: channel.name, subscribers: channel.subscriberCount,
                    buffered: Int(channel.log.endSequence - channel.log.startSequence),
                    lastID: channel.lastID, published: channel.publishedCount)
            }
        }
        return infos.sorted { $0.name < $1.name }
    }
}

/// The hub's budgets: how many channels may exist, how many bytes of events
/// all rings may hold together.
public struct HubLimits: Sendable {
    public var maxChannels: Int
    public var maxMemory: Int

    public init(maxChannels: Int = 100_000, maxMemory: Int = HubLimits.defaultMaxMemory()) {
        self.maxChannels = max(1, maxChannels)
        self.maxMemory = max(1 << 16, maxMemory)
    }

    /// A quarter of the machine's memory.
    public static func defaultMaxMemory() -> Int {
        let pages = sysconf(Int32(_SC_PHYS_PAGES))
        let size = sysconf(Int32(_SC_PAGESIZE))
        guard pages > 0, size > 0 else { return 1 << 30 }
        return pages * size / 4
    }
}

/// The hub's mutable state, guarded by its state lock.
struct HubState: ~Copyable {
    var channels: [String: Channel] = [:]
    var closed = false
    var bufferedBytes = 0
    /// The newest id the store's feed has brought.
    var feedPosition = EventID.zero
}

/// Counters read without the lock.
final class HubCounters: Sendable {
    let evicted = Atomic<UInt64>(0)
}
