import EventStream
import Reactor

/// With a shared store: before a replay that reaches back further than this
/// node's cache, fetch the missing history from the store into the cache,
/// so the stream then replays it like any other. One per loop.
///
/// When the store cannot answer, the stream opens with what the node holds
/// (and `sse-gap` if that is not enough): a replay is never refused for it.
final class HistoryStep: RequestStep {
    private let hub: Hub
    private let store: EventStore
    private let loop: EventLoop

    init(hub: Hub, store: EventStore, loop: EventLoop) {
        self.hub = hub
        self.store = store
        self.loop = loop
    }

    func decide(_ request: ServerRequest) -> StepResult {
        guard case .stream(let stream) = request.route,
            let text = stream.lastEventID, let after = EventID(parsing: text.trimmingSpaces())
        else { return .proceed }
        let starts = hub.cacheStart(of: stream.channels)
        let missing = zip(stream.channels, starts).filter { _, start in start.map { after < $0 } ?? true }.map(\.0)
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
