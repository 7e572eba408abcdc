import HTTP
import Reactor

/// The access-log hooks: a line when a response is queued, and one when a stream ends.
extension Connection {
    /// A request's head arrived: its line measures from here.
    func accessBegin() {
        accessEntry?.begin(now: context.loop.now)
    }

    /// A response of `bytes` bytes was queued.
    func accessResponded(status: Int, bytes: Int) {
        guard let entry = accessEntry, let log = server.accessLog else { return }
        log.record(record(entry, status: status, bytes: bytes, reason: .done))
    }

    /// The stream on this connection ended for `reason`.
    func accessStreamEnded(_ reason: CloseReason) {
        guard let entry = accessEntry, let log = server.accessLog else { return }
        log.record(record(entry, status: 200, bytes: entry.bytes, reason: reason))
    }

    private func record(_ entry: AccessLog.Entry, status: Int, bytes: Int, reason: CloseReason) -> AccessLog.Record {
        let started = entry.started == 0 ? phaseSince : entry.started
        return AccessLog.Record(
            time: Int64(Clock.wallMillis()), client: entry.client, method: head?.method ?? "-",
            path: head.map { String($0.rawPath) } ?? "-", status: status, bytes: bytes,
            durationNanos: context.loop.now &- started, events: entry.events, reason: reason)
    }
}
