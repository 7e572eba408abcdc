import EventStream
import HTTP
import OutboundHTTP
import Reactor

/// The loop side of a `RelaySource`: one upstream stream at a time, its parser,
/// the reconnect timer. Touched only on the relay's own event loop.
final class UpstreamRelay: @unchecked Sendable {
    let url: HTTPURL
    let channel: String
    let hub: Hub
    let logger: Logger
    let name: String
    private let loop: EventLoop
    private let timing: RelayTiming
    private let client: HTTPClient
    /// Keeps the upstream's last id (and the partial event) across reads; reset
    /// at each stream's end, keeping the id.
    private var parser: EventStreamParser
    private var retryMillis: Int
    private var handle: RequestHandle?
    private var reconnectTimer: TimerHandle?
    /// Answers in a row that were not an event stream: the delay doubles with each.
    private var refusals = 0
    /// Attempts in a row that failed; after the first, the failures are logged quietly.
    private var failures = 0
    private var streaming = false
    private var stopped = false
    private var batch: [RoutedEvent] = []

    init(
        url: HTTPURL, channel: String, hub: Hub, logger: Logger, name: String, loop: EventLoop, timing: RelayTiming,
        maxEventBytes: Int
    ) {
        self.url = url
        self.channel = channel
        self.hub = hub
        self.logger = logger
        self.name = name
        self.loop = loop
        self.timing = timing
        retryMillis = timing.defaultRetryMillis
        parser = EventStreamParser(maxLineBytes: maxEventBytes, maxDataBytes: maxEventBytes)
        // One upstream connection, never reused: an idle pool would only hold a socket.
        client = HTTPClient(loop: loop, configuration: HTTPClientConfiguration(maxIdlePerHost: 0))
    }

    /// The id sent as `Last-Event-ID` on the next connect ("" before any).
    var lastEventID: String { parser.lastEventID }

    func connect() {
        loop.assertInLoop()
        guard !stopped else { return }
        reconnectTimer = nil
        var headers: [(name: String, value: String)] = [("Accept", "text/event-stream"), ("Cache-Control", "no-cache")]
        if !parser.lastEventID.isEmpty { headers.append(("Last-Event-ID", parser.lastEventID)) }
        let request = OutboundRequest(url: url, headers: headers, timeoutNanos: timing.headTimeoutNanos)
        handle = client.stream(
            request, idleTimeoutNanos: timing.idleTimeoutNanos,
            onHead: { [unowned self] head in received(head) },
            onBytes: { [unowned self] bytes in relay(bytes) },
            onEnd: { [unowned self] result in ended(result) })
    }

    func stop() {
        loop.assertInLoop()
        stopped = true
        handle?.cancel()
        handle = nil
        if let reconnectTimer { loop.cancel(reconnectTimer) }
        reconnectTimer = nil
        client.shutdown()
    }

    private func received(_ head: ResponseHead) {
        if head.status != 200 {
            refuse("answered \(head.status)\(head.reason.isEmpty ? "" : " " + head.reason)")
        } else if head.mediaType != "text/event-stream" {
            refuse("answered \(head.mediaType ?? "no Content-Type") instead of text/event-stream")
        } else {
            streaming = true
            refusals = 0
            failures = 0
            let from = parser.lastEventID.isEmpty ? "" : " after upstream id \(parser.lastEventID)"
            logger.info("\(name): connected to \(url)\(from)")
        }
    }

    /// An answer that is not an event stream: dropped, and asked again later, each time later.
    private func refuse(_ why: String) {
        handle?.cancel()
        handle = nil
        refusals += 1
        let delay = min(retryMillis << min(refusals - 1, 16), max(timing.maxBackoffMillis, retryMillis))
        report("\(url) \(why); trying again in \(delay) ms")
        reconnect(afterMillis: delay)
    }

    private func relay(_ bytes: UnsafeRawBufferPointer) {
        parser.feed(bytes) { output in
            switch output {
            case .event(let event):
                take(event)
            case .retry(let ms):
                retryMillis = ms
            case .lineTooLong:
                logger.warning("\(name): skipped an upstream line over \(parser.maxLineBytes) bytes")
            case .eventTooLong:
                logger.warning("\(name): skipped an upstream event over \(parser.maxDataBytes) bytes")
            case .comment:
                break
            }
        }
        publish()
    }

    /// Keeps an upstream event for the next batch, unless it is one of the
    /// upstream server's notices about its own stream (no id, `sse-gap`,
    /// `sse-error`, `sse-reauth`), which mean nothing to our subscribers.
    private func take(_ event: ParsedEvent) {
        if event.id == nil, ["sse-gap", "sse-error", "sse-reauth"].contains(event.type) {
            logger.warning("\(name): upstream notice \(event.type): \(event.data.prefix(300))")
            return
        }
        guard Event.isValidType(event.type) else {
            logger.warning("\(name): skipped an upstream event whose type has a NUL")
            return
        }
        batch.append(RoutedEvent(channel: channel, event: Event(type: event.type, data: event.data)))
    }

    /// Hands the batch to the hub without waiting for it (with a store, the
    /// answer comes on another thread).
    private func publish() {
        guard !batch.isEmpty else { return }
        let events = batch
        batch.removeAll(keepingCapacity: true)
        let (logger, name, loop, relay) = (self.logger, self.name, self.loop, self)
        hub.submit(events) { result in
            switch result {
            case .success:
                break
            case .failure(.shuttingDown):
                // The server is going: end quietly, as every source does.
                loop.execute {
                    relay.stop()
                    loop.stop()
                }
            case .failure(let error):
                logger.error("\(name): could not publish \(events.count) events: \(error)")
            }
        }
    }

    private func ended(_ result: Result<Void, OutboundError>) {
        handle = nil
        parser.finish()
        guard !stopped else { return }
        let wasStreaming = streaming
        streaming = false
        switch result {
        case .success:
            logger.info("\(name): the upstream ended the stream; reconnecting in \(retryMillis) ms")
        case .failure(let error):
            if wasStreaming {
                logger.warning("\(name): \(error); reconnecting in \(retryMillis) ms")
            } else {
                report("\(error); trying again in \(retryMillis) ms")
            }
        }
        reconnect(afterMillis: retryMillis)
    }

    /// A failed attempt: said once as a warning, then quietly until it works again.
    private func report(_ message: String) {
        failures += 1
        if failures == 1 {
            logger.warning("\(name): \(message)")
        } else {
            logger.debug("\(name): \(message)")
        }
    }

    private func reconnect(afterMillis ms: Int) {
        guard !stopped else { return }
        if let reconnectTimer { loop.cancel(reconnectTimer) }
        reconnectTimer = loop.schedule(after: UInt64(max(ms, 0)) * 1_000_000) { [weak self] in self?.connect() }
    }
}
