/// The hub's handle for one event loop: which channel windows it holds, and which
/// channels have news for it since it last synced.
public final class DeliveryGroup: @unchecked Sendable {
    public let index: Int
    /// Called (outside the hub lock) when the group has news; set once before start.
    var wake: @Sendable () -> Void = {}

    // Touched on the loop's thread, under the hub lock while syncing.
    var windows: [String: ChannelWindow] = [:]
    /// Windows that received events in the last sync (reused, not reallocated).
    var updated: [ChannelWindow] = []

    // Guarded by the hub lock.
    var dirty: [Channel] = []
    var wakePending = false

    init(index: Int) { self.index = index }

    public func setWake(_ wake: @escaping @Sendable () -> Void) { self.wake = wake }
}

/// What a new subscriber starts from: a window and a cursor per channel, and a
/// gap notice when its Last-Event-ID is older than the buffer.
public struct SubscribeResult {
    public var windows: [ChannelWindow]
    public var cursors: [UInt64]
    /// The data of the `sse-gap` event to send first, if events were lost.
    public var gap: String?
    /// Windows the subscribe's sync brought new events to: their other
    /// subscribers have something to write, as after `Hub.sync`.
    public var synced: [ChannelWindow] = []

    public init(windows: [ChannelWindow], cursors: [UInt64], gap: String?, synced: [ChannelWindow] = []) {
        self.windows = windows
        self.cursors = cursors
        self.gap = gap
        self.synced = synced
    }
}
