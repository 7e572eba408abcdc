/// How an `HTTPClient` opens, keeps and gives up on connections.
public struct HTTPClientConfiguration: Sendable {
    /// How long a connect may take (less when the request's deadline is sooner).
    public var connectTimeoutNanos: UInt64
    /// Connections open to one host:port at once (connecting, busy or idle);
    /// requests beyond it wait for one in order, within their deadline.
    public var maxConnectionsPerHost: Int
    /// Idle kept-alive connections kept per host:port; the oldest is closed past it.
    public var maxIdlePerHost: Int
    /// An idle connection is closed after this long unused.
    public var idleTimeoutNanos: UInt64
    /// The largest response header section accepted.
    public var maxHeaderBytes: Int
    /// How long a looked-up host name's address is reused.
    public var resolveCacheNanos: UInt64

    public init(
        connectTimeoutNanos: UInt64 = 5_000_000_000, maxConnectionsPerHost: Int = 64, maxIdlePerHost: Int = 8,
        idleTimeoutNanos: UInt64 = 30_000_000_000, maxHeaderBytes: Int = 16 * 1024, resolveCacheNanos: UInt64 = 60_000_000_000
    ) {
        self.connectTimeoutNanos = connectTimeoutNanos
        self.maxConnectionsPerHost = max(maxConnectionsPerHost, 1)
        self.maxIdlePerHost = max(maxIdlePerHost, 0)
        self.idleTimeoutNanos = idleTimeoutNanos
        self.maxHeaderBytes = maxHeaderBytes
        self.resolveCacheNanos = resolveCacheNanos
    }
}
