import EventStream
import Reactor

/// Something that publishes events into the hub from outside HTTP: a ticker, a
/// file, standard input, a command.
///
/// A source runs on its own thread, never on an event loop. `start` returns at
/// once; `stop` asks the source to end and returns at once; `waitUntilStopped`
/// waits for it (an exec source needs up to its grace period to end its
/// command). After the hub has shut down a source ends quietly on its own.
public protocol Source: AnyObject, Sendable {
    /// The spec it was made from, for logs: `tail:/var/log/syslog@syslog`.
    var name: String { get }
    /// The channel its events go to (json records may route elsewhere).
    var channel: String { get }
    /// Starts the source's thread; throws when it cannot start at all.
    func start(hub: Hub, logger: Logger) throws(SourceError)
    /// Asks the source to end; returns at once. Idempotent.
    func stop()
    /// Waits until the source's thread has ended; false if `timeout` (seconds) passed first.
    func waitUntilStopped(timeout: Double) -> Bool
}

extension Array where Element == any Source {
    /// Stops every source, then waits for all of them together; false if one
    /// was still running after `timeout` seconds.
    @discardableResult
    public func stopAll(timeout: Double = 3) -> Bool {
        for source in self { source.stop() }
        let deadline = Clock.monotonicNanos() + UInt64(timeout * 1e9)
        var allStopped = true
        for source in self {
            let now = Clock.monotonicNanos()
            let left = now < deadline ? Double(deadline - now) / 1e9 : 0
            if !source.waitUntilStopped(timeout: left) { allStopped = false }
        }
        return allStopped
    }
}
