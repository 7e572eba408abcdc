/// How webhooks are batched and retried: the contract's figures by default;
/// tests shorten the waits.
public struct WebhookPolicy: Sendable {
    /// The longest an event waits for others to share its request, in seconds.
    public var batchWait = 0.25
    /// Events in one request.
    public var batchSize = 100
    /// The first pause after a failed attempt; it doubles up to `maxBackoff`.
    public var initialBackoff = 1.0
    public var maxBackoff = 30.0
    /// A batch not delivered this long after its first attempt is given up (and counted as dropped).
    public var giveUpAfter = 300.0
    /// Events held while the receiver is away; the oldest go first.
    public var capacity = 10_000
    /// One attempt's connect, and each of its writes and reads, in seconds.
    public var requestTimeout = 5.0

    public init() {}
}
