/// Bookkeeping so that identical requests in flight ask the app once: the
/// first for a key asks, later ones wait, and all are answered together.
///
/// Generic over whatever a waiter is (a connection id, a callback). Not
/// thread-safe: each event loop owns one and touches it only on its thread.
public struct SingleFlight<Waiter> {
    /// Whether a caller should ask, or only wait for the answer to another's question.
    public enum Start: Equatable, Sendable {
        /// No request for the key was in flight: this caller asks.
        case first
        /// One was: this caller waits for it.
        case joined
    }

    private var waiting: [String: [Waiter]] = [:]

    public init() {}

    /// Keys with a question in flight.
    public var count: Int { waiting.count }

    public func isInFlight(_ key: String) -> Bool { waiting[key] != nil }

    /// Records `waiter` under `key`; `.first` when nothing was in flight for it.
    public mutating func beginOrJoin(_ key: String, _ waiter: Waiter) -> Start {
        if waiting[key] != nil {
            waiting[key]?.append(waiter)
            return .joined
        }
        waiting[key] = [waiter]
        return .first
    }

    /// Ends the flight for `key`: every waiter, the first one's included, in
    /// the order they came; empty when none was in flight.
    public mutating func complete(_ key: String) -> [Waiter] {
        waiting.removeValue(forKey: key) ?? []
    }

    /// Takes one waiter out (a client that went away), keeping the flight
    /// going for the others; `matches` says which.
    public mutating func leave(_ key: String, where matches: (Waiter) -> Bool) {
        guard var list = waiting[key], let index = list.firstIndex(where: matches) else { return }
        list.remove(at: index)
        waiting[key] = list
    }
}
