import Auth
import Dispatch
import Foundation
import Reactor
import Synchronization

/// Delivers presence webhooks from its own thread: takes batches from the
/// queue, POSTs them as `{"time_ms", "events"}` signed as Standard Webhooks
/// do, and retries a failed batch with exponential backoff until it is
/// delivered or given up. Never touched by an event loop except through
/// `WebhookQueue.enqueue`, which does not wait.
public final class WebhookSender: Sendable {
    public let url: String
    public let queue: WebhookQueue
    public let policy: WebhookPolicy
    private let signature: WebhookSignature?
    private let transport: any WebhookTransport
    private let log: @Sendable (String) -> Void
    private let exited = DispatchSemaphore(value: 0)
    private let started = Atomic<Bool>(false)
    private let stopped = Atomic<Bool>(false)
    /// Requests answered 2xx.
    public let delivered = Atomic<UInt64>(0)
    private let sequence = Atomic<UInt64>(0)

    /// - Parameters:
    ///   - secret: the signing secret (`whsec_BASE64` or plain); nil or one
    ///     `WebhookSignature` refuses: unsigned (the caller should refuse such a secret first).
    ///   - log: a line for each failed attempt and each given-up batch.
    public init(
        url: String, secret: String?, policy: WebhookPolicy = WebhookPolicy(),
        transport: any WebhookTransport = SocketWebhookTransport(), log: @escaping @Sendable (String) -> Void = { _ in }
    ) {
        self.url = url
        self.policy = policy
        self.transport = transport
        self.log = log
        signature = secret.flatMap { WebhookSignature(secret: $0) }
        queue = WebhookQueue(capacity: policy.capacity)
    }

    /// Events never delivered: dropped from a full queue or in a given-up batch.
    public var dropped: UInt64 { queue.dropped.load(ordering: .relaxed) }

    /// Starts the sending thread (once).
    public func start() {
        guard !started.exchange(true, ordering: .relaxed) else { return }
        let thread = Thread { [self] in
            run()
            exited.signal()
        }
        thread.name = "webhooks"
        thread.start()
    }

    /// Stops the thread after its current attempt, waiting for it at most
    /// `wait` seconds (an attempt may be stuck in a read for its timeout, and
    /// a shutdown must not be); what is still queued is not sent.
    public func stop(wait: Double = 1) {
        queue.stop()
        if started.load(ordering: .relaxed) && !stopped.exchange(true, ordering: .relaxed) { _ = exited.wait(timeout: .now() + wait) }
    }

    private func run() {
        while let batch = queue.nextBatch(maxCount: policy.batchSize, maxWait: policy.batchWait) {
            if !deliver(batch) { return }
        }
    }

    /// Sends one batch until it is taken or given up; false when stopped meanwhile.
    private func deliver(_ batch: [WebhookEvent]) -> Bool {
        let body = Self.body(batch, timeMillis: Clock.wallMillis())
        let id = messageID()
        let firstAttempt = Clock.monotonicNanos()
        var backoff = policy.initialBackoff
        while true {
            let timestamp = Int64(Clock.wallMillis() / 1000)
            var headers = [("Content-Type", "application/json")]
            if let signature {
                headers += signature.headers(id: id, timestamp: timestamp, body: body)
            } else {
                headers += [("webhook-id", id), ("webhook-timestamp", String(timestamp))]
            }
            let why: String
            switch transport.post(url: url, headers: headers, body: body, timeout: policy.requestTimeout) {
            case .success(let status) where (200..<300).contains(status):
                delivered.add(1, ordering: .relaxed)
                return true
            case .success(let status):
                why = "answered \(status)"
            case .failure(let error):
                why = "\(error)"
            }
            let elapsed = Double(Clock.monotonicNanos() &- firstAttempt) / 1e9
            if elapsed + backoff > policy.giveUpAfter {
                queue.dropped.add(UInt64(batch.count), ordering: .relaxed)
                log("webhook \(url): \(why); gave up on \(batch.count) events after \(Int(elapsed)) s")
                return true
            }
            log("webhook \(url): \(why); retrying in \(backoff) s")
            if queue.pause(backoff) { return false }
            backoff = min(backoff * 2, policy.maxBackoff)
        }
    }

    /// A new `webhook-id`: the same for every attempt at one message, so a
    /// receiver can tell a retry from a new message.
    private func messageID() -> String {
        let n = sequence.add(1, ordering: .relaxed).newValue
        return "msg_" + String(Clock.wallMillis(), radix: 36) + String(UInt32.random(in: .min ... .max), radix: 36) + "_" + String(n)
    }

    /// `{"time_ms":…,"events":[…]}`.
    static func body(_ events: [WebhookEvent], timeMillis: UInt64) -> [UInt8] {
        var text = "{\"time_ms\":\(timeMillis),\"events\":["
        for (i, event) in events.enumerated() {
            if i > 0 { text += "," }
            text += event.json
        }
        return Array((text + "]}").utf8)
    }
}
