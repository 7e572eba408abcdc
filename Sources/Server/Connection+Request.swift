import EventStream
import Glibc
import HTTP
import Reactor

/// Answering requests: the route's handler, and responses on the wire.
extension Connection {
    func received(_ head: RequestHead) {
        self.head = head
        accessBegin()
        phase = .readingBody
        discardedBody = 0
        keepAlive = head.keepAlive && !server.isStopping
        if overCapacity {
            refuseOverCapacity(head)
            return
        }
        let request = ServerRequest(head: head, route: Router.route(head), connection: self)
        self.request = request
        self.route = request.route
        runSteps(request, from: 0)
    }

    /// Runs the responder chain from step `index`: each step answers, passes
    /// the request on, or suspends it until an outside answer comes.
    private func runSteps(_ request: ServerRequest, from index: Int) {
        let steps = context.steps
        var next = index
        while next < steps.count {
            switch steps[next].decide(request) {
            case .proceed:
                next += 1
            case .suspended:
                request.suspendedAt = next
                waitingRequest = request
                phase = .waiting
                if let early = request.earlyResult {
                    request.earlyResult = nil
                    resumeSteps(request, with: early)
                }
                return
            case .answer(let response):
                route = nil
                self.request = nil
                respond(response, closing: Self.hasBody(request.head))
                return
            case .streamNotice(let bytes):
                route = nil
                self.request = nil
                respondWithStreamNotice(bytes)
                return
            }
        }
        route = request.route
        routed(request)
    }

    /// A suspended step has its answer: go on from there, and read on.
    func resumeSteps(_ request: ServerRequest, with result: StepResult) {
        guard phase == .waiting, waitingRequest === request else { return }
        waitingRequest = nil
        phase = .readingBody
        switch result {
        case .proceed:
            runSteps(request, from: request.suspendedAt + 1)
        case .answer(let response):
            route = nil
            self.request = nil
            respond(response, closing: Self.hasBody(request.head))
        case .streamNotice(let bytes):
            route = nil
            self.request = nil
            respondWithStreamNotice(bytes)
        case .suspended:
            // The step wants to be asked again (its answer is ready now).
            runSteps(request, from: request.suspendedAt)
        }
        if readPaused && outbox.count < Self.maxPipelinedOutput / 2 {
            readPaused = false
            updateInterest()
        }
        if !isClosed { process() }
    }

    /// The request passed every step: start what its route needs before the body.
    private func routed(_ request: ServerRequest) {
        switch request.route {
        case .failure(let status, let message, let allow):
            if Self.hasBody(request.head) {
                respond(.text(status, message, headers: allow.map { [("Allow", $0)] } ?? []), closing: true)
            }
        case .publish(let channel, let eventType, let format):
            startPublish(request.head, channel: channel, eventType: eventType, format: format)
        default:
            break
        }
    }

    func received(body bytes: UnsafeRawBufferPointer) {
        if let publishBody {
            if let refusal = publishBody.consume(bytes) {
                respond(refusal, closing: true)
            } else if publishBody.isBackedUp && !readPaused {
                // The store is behind this upload: read on once it catches up.
                readPaused = true
                updateInterest()
                publishBody.onDrained = { [weak self] in
                    guard let self, self.readPaused, !self.isClosed else { return }
                    self.readPaused = false
                    self.updateInterest()
                    self.process()
                }
            }
            return
        }
        discardedBody += bytes.count
        if discardedBody > server.configuration.maxBody {
            respond(.text(413, "request body over \(server.configuration.maxBody) bytes"), closing: true)
        }
    }

    func requestEnded() {
        phase = .awaitingHead
        phaseSince = context.loop.now
        guard let head, let route else { return }
        self.route = nil
        let request = self.request
        self.request = nil
        switch route {
        case .stream(let stream):
            startStream(head, stream, identity: request?.identity ?? .anonymous)
        case .ready:
            if let reason = server.hub.store?.unavailableReason {
                respond(.text(503, "not ready: \(reason)", headers: [("Retry-After", "1")]))
            } else {
                respond(.text(200, "ready"))
            }
        case .presence(let channel):
            respondPresence(channel)
        case .publish:
            guard let body = publishBody else { return }
            publishBody = nil
            answerWhenPublished(body)
        case .preflight:
            var headers: [(name: String, value: String)] = [("Allow", Router.streamMethods)]
            if !server.corsHeaders(for: head).isEmpty {
                headers += [
                    ("Access-Control-Allow-Methods", Router.streamMethods),
                    ("Access-Control-Allow-Headers", head.header("Access-Control-Request-Headers") ?? "Content-Type, Authorization, Last-Event-ID"),
                    ("Access-Control-Max-Age", "86400"),
                ]
            }
            respond(Response(status: 204, headers: headers))
        case .health:
            respond(.text(200, "ok"))
        case .metrics:
            respond(Response(status: 200, headers: [("Content-Type", "text/plain; version=0.0.4; charset=utf-8")], body: Array(MetricsReport.render(server, showsAll: seesPrivateNames(head)).utf8)))
        case .channels:
            respond(.json(200, MetricsReport.channelsJSON(server, showsAll: seesPrivateNames(head))))
        case .file(let path):
            if let files = server.staticFiles {
                switch files.answer(for: path, head: head) {
                case .response(let response):
                    respond(response)
                case .file(let response, let body):
                    respond(response, then: head.method == "HEAD" ? nil : body)
                }
            } else {
                respond(.text(404, StaticFiles.noDashboard))
            }
        case .failure(let status, let message, let allow):
            respond(.text(status, message, headers: allow.map { [("Allow", $0)] } ?? []))
        }
    }

    /// Queues `response` (and `file`, its body sent after it) and writes it; with
    /// `closing` (or no keep-alive) the connection closes once it is out.
    func respond(_ response: Response, closing: Bool = false, then file: FileBody? = nil) {
        var response = response
        if let head, server.configuration.corsOrigin != nil { response.headers += server.corsHeaders(for: head) }
        let close = closing || !keepAlive || server.isStopping || head == nil
        if closing {
            // Whatever else the client sent on this connection is not read.
            phase = .awaitingHead
            publishBody = nil
        }
        let bytes = response.serialized(minorVersion: head?.minorVersion ?? 1, keepAlive: !close, headOnly: head?.method == "HEAD")
        outbox.append(bytes)
        fileBody = file
        accessResponded(status: response.status, bytes: bytes.count + (file?.remaining ?? 0))
        if close { closeWhenFlushed = true }
        flush()
    }

    /// `200` with a stream's head, a jittered `retry:` hint, `notice`, and a
    /// close: what an EventSource that must try again later is told (any
    /// other status would make it give up for good).
    func respondWithStreamNotice(_ notice: [UInt8]) {
        let retry = server.configuration.retryMilliseconds + Int.random(in: 0...max(1000, server.configuration.retryMilliseconds))
        respond(
            Response(
                status: 200,
                headers: Self.eventStreamHeaders,
                body: EventEncoder.retry(milliseconds: retry) + notice),
            closing: true)
    }

    /// Protected channel names are shown only to holders of the publish token.
    private func seesPrivateNames(_ head: RequestHead) -> Bool {
        guard server.accessPolicy != nil else { return true }
        guard let token = server.configuration.publishToken, !token.isEmpty else { return false }
        return server.isAuthorized(head)
    }

    /// Answers a publish once its events are kept: at once in memory; with a
    /// store, the connection waits (reading nothing more) for the store's answer.
    func answerWhenPublished(_ body: PublishBody, closing: Bool = false) {
        var synchronous = true
        phase = .waiting
        body.finish { [weak self] response in
            guard let self, !self.isClosed, self.phase == .waiting else { return }
            self.phase = .awaitingHead
            self.phaseSince = self.context.loop.now
            self.respond(response, closing: closing)
            // Inside `process` already when the answer came at once.
            if !synchronous && !self.isClosed { self.process() }
        }
        synchronous = false
    }

    static func hasBody(_ head: RequestHead) -> Bool {
        head.header("Transfer-Encoding") != nil || head.contentLength.map { $0 != 0 } ?? false
    }

    /// Over `--max-clients`: EventSource gets a 200 with a jittered `retry:` and a
    /// close (it would give up for good on a 503); everyone else gets a 503.
    private func refuseOverCapacity(_ head: RequestHead) {
        server.metrics.rejectedConnections.add(1, ordering: .relaxed)
        let wantsStream = head.header("Accept")?.contains("text/event-stream") == true
        if wantsStream, case .stream = Router.route(head) {
            respondWithStreamNotice([])
        } else {
            respond(.text(503, "too many clients; try again shortly", headers: [("Retry-After", "5")]), closing: true)
        }
    }

    // MARK: - publishing

    private func startPublish(_ head: RequestHead, channel: String, eventType: String, format: RecordFormat?) {
        guard !server.hub.isClosed else {
            respond(.text(503, PublishError.shuttingDown.description, headers: [("Retry-After", "5")]), closing: true)
            return
        }
        let maxBody = server.configuration.maxBody
        if format == nil, let length = head.contentLength, length > UInt64(maxBody) {
            respond(.text(413, "request body over \(maxBody) bytes"), closing: true)
            return
        }
        publishBody = PublishBody(
            hub: server.hub, loop: context.loop, logger: server.logger, channel: channel, eventType: eventType,
            contentType: head.header("Content-Type"), format: format, maxBody: maxBody)
        if head.minorVersion >= 1, head.header("Expect")?.lowercased() == "100-continue" {
            outbox.append(Response.head(status: 100))
            flush()
        }
    }
}
