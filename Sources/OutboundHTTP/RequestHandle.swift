/// Names a request started by `HTTPClient.execute` or `stream`, so that it can be
/// abandoned. Use it on the client's loop only.
public struct RequestHandle {
    weak var exchange: Exchange?

    init(_ exchange: Exchange) { self.exchange = exchange }

    /// Abandons the request: its connection is closed (a half-read response
    /// cannot be reused) and none of its callbacks runs afterwards. A no-op once
    /// it has ended. Safe to call from inside its own callbacks.
    public func cancel() {
        exchange?.cancel()
    }

    /// True until the request has ended, failed or been cancelled.
    public var isActive: Bool { exchange.map { !$0.finished } ?? false }
}
