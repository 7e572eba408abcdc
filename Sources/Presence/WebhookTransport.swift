/// Sends one webhook request and tells its status: the seam where a
/// non-blocking outbound client may replace the blocking socket one.
/// Called only on the webhook sender's own thread.
public protocol WebhookTransport: Sendable {
    /// POSTs `body` with `headers` to `url` (`http://`); the response's status,
    /// or why there was none within `timeout` seconds.
    func post(url: String, headers: [(String, String)], body: [UInt8], timeout: Double) -> Result<Int, any Error>
}

/// Why a webhook attempt failed, as the log says it.
public struct WebhookError: Error, CustomStringConvertible {
    public var description: String

    public init(_ description: String) { self.description = description }
}
