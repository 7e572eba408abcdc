import EventStream
import HTTP
import Reactor

/// Long polling (`?poll=SEC`): subscribe as a stream does, but answer once,
/// with JSON, as soon as there is an event after `lastEventId`, or after SEC
/// with none. The answer's `lastEventId` is where the next poll starts.
extension Connection {
    /// Events one answer carries at most; the client's next poll gets the rest.
    static let maxPollEvents = 1000

    func startPoll(_ result: SubscribeResult, request: StreamRequest, seconds: Double) {
        let state = StreamState(windows: result.windows, cursors: result.cursors, chunked: true, gzip: nil, now: context.loop.now)
        state.eventTypes = request.eventTypes
        for i in result.windows.indices {
            state.slots[i] = context.subscribe(self, window: result.windows[i])
        }
        // Read after subscribing: anything published since is in the windows.
        let since = request.lastEventID ?? server.hub.lastID.description
        state.poll = PollState(gap: result.gap, since: since, channels: request.channels)
        stream = state
        phase = .streaming
        context.markSubscribers(of: result.synced)
        server.metrics.subscribers.add(1, ordering: .relaxed)
        state.poll?.timer = context.loop.schedule(after: UInt64(seconds * 1e9)) { [weak self] in
            guard let self, let stream = self.stream, stream.poll != nil else { return }
            self.answerPoll(stream)
        }
        context.markPending(self)
    }

    /// Answers when there is something to say; otherwise keeps waiting.
    func answerPollIfReady(_ stream: StreamState) {
        stream.skipUnwanted()
        if stream.poll?.gap != nil || !stream.isCaughtUp || stream.finishing { answerPoll(stream) }
    }

    private func answerPoll(_ stream: StreamState) {
        guard let poll = stream.poll else { return }
        stream.skipUnwanted()
        var items: [String] = []
        var lastID = poll.since
        while items.count < Self.maxPollEvents, let w = stream.next(after: stream.cursors) {
            defer { stream.cursors[w] += 1 }
            guard stream.wants(w, stream.cursors[w]) else { continue }
            let event = stream.windows[w].event(at: stream.cursors[w])
            lastID = event.id.description
            items.append(
                "{\"id\":\"\(event.id)\",\"event\":\(JSONText.quoted(event.type)),\"data\":\(JSONText.quoted(event.data)),\"channel\":\(JSONText.quoted(stream.windows[w].name))}")
        }
        context.delivered += UInt64(items.count)
        if let timer = poll.timer { context.loop.cancel(timer) }
        stream.poll = nil
        stream.detach(self)
        self.stream = nil
        server.metrics.subscribers.subtract(1, ordering: .relaxed)
        phase = .awaitingHead
        phaseSince = context.loop.now
        let gap = poll.gap.map { ",\"gap\":\($0)" } ?? ""
        respond(.json(200, "{\"events\":[\(items.joined(separator: ","))],\"lastEventId\":\(JSONText.quoted(lastID))\(gap)}"))
        if !isClosed { process() }
    }
}

/// A long poll in progress: what it started from and when it gives up.
struct PollState {
    var gap: String?
    /// The `lastEventId` to answer with when no event comes.
    var since: String
    var channels: [String]
    var timer: TimerHandle?
}
