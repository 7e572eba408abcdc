import EventStream
import Reactor

/// A connection's place in the channels it subscribes to: a cursor (the next
/// sequence number to send) per channel window, and how much of the next event
/// a short write already sent. No queue of its own: the events stay in the
/// windows, shared by every subscriber.
final class StreamState {
    let windows: [ChannelWindow]
    var cursors: [UInt64]
    /// Where this connection sits in each window's subscriber list.
    var slots: [Int]
    /// Bytes of the next event already written.
    var partial = 0
    /// HTTP/1.1: each event is one chunk. HTTP/1.0: raw, the close ends it.
    let chunked: Bool
    let gzip: GzipEncoder?
    var lastWrite: UInt64
    /// Shutdown: send what is buffered, then the final chunk, then close.
    var finishing = false
    var finalQueued = false
    /// Scratch cursors for merging several channels by id.
    var scratch: [UInt64]
    /// `?event=`: the types this stream sends; nil for all. Others are
    /// skipped by moving the cursor, never re-encoded.
    var eventTypes: Set<String>?
    /// Set for a long poll (`?poll=`), which answers once instead of streaming.
    var poll: PollState?
    /// Ends the stream with `sse-reauth` when its authorization runs out.
    var expiryTimer: TimerHandle?

    init(windows: [ChannelWindow], cursors: [UInt64], chunked: Bool, gzip: GzipEncoder?, now: UInt64) {
        self.windows = windows
        self.cursors = cursors
        self.chunked = chunked
        self.gzip = gzip
        slots = Array(repeating: -1, count: windows.count)
        scratch = cursors
        lastWrite = now
    }

    func cursor(for window: ChannelWindow) -> UInt64? {
        for i in windows.indices where windows[i] === window { return cursors[i] }
        return nil
    }

    func moveSlot(for window: ChannelWindow, to slot: Int) {
        for i in windows.indices where windows[i] === window { slots[i] = slot }
    }

    /// True when a cursor fell behind what its window still holds: the
    /// subscriber was too slow and must reconnect and replay.
    var hasFallenBehind: Bool {
        for i in windows.indices where windows[i].hasLost(cursors[i]) { return true }
        return false
    }

    /// Moves every cursor that fell behind to the oldest event still held;
    /// returns the data of the `sse-gap` notice that says so.
    func skipToBufferStart() -> String {
        var losses: [GapNotice.Loss] = []
        for i in windows.indices where windows[i].hasLost(cursors[i]) {
            let window = windows[i]
            cursors[i] = window.start
            losses.append(GapNotice.Loss(channel: window.name, resumesAt: window.start < window.end ? window.event(at: window.start).id : nil))
        }
        return GapNotice.data(
            losses: losses,
            message: "more events came at once than the buffer holds; the oldest of them were dropped before they could be sent")
    }

    /// True when every event available has been sent.
    var isCaughtUp: Bool {
        for i in windows.indices where cursors[i] < windows[i].end { return false }
        return partial == 0
    }

    /// The window index holding the next event in id order after the positions
    /// in `positions`, or nil when all are sent.
    @inline(__always)
    func next(after positions: [UInt64]) -> Int? {
        if windows.count == 1 { return positions[0] < windows[0].end ? 0 : nil }
        var best: Int? = nil
        var bestID = EventID.zero
        for i in windows.indices where positions[i] < windows[i].end {
            let id = windows[i].event(at: positions[i]).id
            if best == nil || id < bestID {
                best = i
                bestID = id
            }
        }
        return best
    }

    /// Moves cursors past events the stream does not send (`?event=`), up to
    /// the next one it does. Only between events.
    func skipUnwanted() {
        guard let types = eventTypes, partial == 0 else { return }
        while let w = next(after: cursors), !types.contains(windows[w].event(at: cursors[w]).type) {
            cursors[w] += 1
        }
    }

    /// True when the stream sends the event at `sequence` of window `w`.
    @inline(__always)
    func wants(_ w: Int, _ sequence: UInt64) -> Bool {
        guard let types = eventTypes else { return true }
        return types.contains(windows[w].event(at: sequence).type)
    }

    func detach(_ connection: Connection) {
        for i in windows.indices {
            connection.context.unsubscribe(connection, window: windows[i], slot: slots[i])
        }
    }
}
