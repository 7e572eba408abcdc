import EventStream
import Reactor

/// With a shared store: before a replay that reaches back further than this
/// node's cache, fetch the missing history from the store into the cache,
/// so the stream then replays it like any other. One per loop.
///
/// When the store cannot answer, the stream opens with what the node holds
/// (and `sse-gap` if that is not enough): a replay is never refused for it.
///
/// An id this node has not seen yet (given by another node, or read from
/// Redis, as a presence snapshot's `lastEventId` is, while this node's
/// follower is a moment behind) waits, at most `catchUpNanos`, until the
/// follower has brought it: else the events up to it would come after the
/// stream opened, and be delivered again.
final class HistoryStep: RequestStep {
    private let hub: Hub
    private let store: EventStore
    private let loop: EventLoop
    /// How long a stream waits for this node to catch up with its id.
    static let catchUpNanos: UInt64 = 1_000_000_000
    private static let catchUpPollNanos: UInt64 = 2_000_000

    init(hub: Hub, store: EventStore, loop: EventLoop) {
        self.hub = hub
        self.store = store
        self.loop = loop
    }

    func decide(_ request: ServerRequest) -> StepResult {
        guard case .stream(let stream) = request.route,
            let text = stream.lastEventID, let after = EventID(parsing: text.trimmingSpaces())
        else { return .proceed }
        guard after > hub.lastID else { return fetchMissing(request, channels: stream.channels, after: after) }
        let deadline = loop.now &+ Self.catchUpNanos
        waitForFollower(request, channels: stream.channels, after: after, deadline: deadline)
        return .suspended
    }

    private func waitForFollower(_ request: ServerRequest, channels: [String], after: EventID, deadline: UInt64) {
        loop.schedule(after: Self.catchUpPollNanos) { [self] in
            guard request.connection != nil else { return }
            // Past the deadline (an id from before an emptied Redis, or one made
            // up): on as before; the replay says what it can.
            if after > hub.lastID && loop.now < deadline {
                waitForFollower(request, channels: channels, after: after, deadline: deadline)
                return
            }
            let result = fetchMissing(request, channels: channels, after: after)
            if case .suspended = result { return }
            request.resume(result)
        }
    }

    private func fetchMissing(_ request: ServerRequest, channels: [String], after: EventID) -> StepResult {
        let starts = hub.cacheStart(of: channels)
        let missing = zip(channels, starts).filter { _, start in start.map { after < $0 } ?? true }.map(\.0)
        guard !missing.isEmpty else { return .proceed }
        let waiting = LoopBound((request: request, remaining: missing.count), on: loop)
        let loop = self.loop
        let hub = self.hub
        for channel in missing {
            store.history(channel: channel, after: after, limit: hub.bufferSize) { result in
                loop.execute {
                    if case .success(let history) = result { hub.backfill(channel, after: after, with: history) }
                    waiting.value.remaining -= 1
                    if waiting.value.remaining == 0 { waiting.value.request.resume(.proceed) }
                }
            }
        }
        return .suspended
    }
}
