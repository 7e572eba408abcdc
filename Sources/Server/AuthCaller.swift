/// Sends the auth callback's `GET` to the app without blocking the loop; the
/// outbound HTTP client is one, tests may bring another.
protocol AuthCaller: AnyObject {
    /// Asks the app; `done` runs on the same loop, once, within `timeoutNanos`.
    func ask(headers: [(String, String)], timeoutNanos: UInt64, done: @escaping (AuthCallOutcome) -> Void)
}

/// What came back from the app, before it is interpreted.
enum AuthCallOutcome {
    case answered(status: Int, headers: [(name: String, value: String)], body: [UInt8])
    /// No usable answer: unreachable, timed out, cut short, not HTTP.
    case failed(String)
}
