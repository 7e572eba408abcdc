import Auth
import EventStream
import HTTP
import Reactor

/// The step that decides who may open a stream of protected channels (and
/// read their presence): a valid HS256 JWT decides alone; otherwise the app
/// is asked (`--auth`), with cached answers and one question per identical
/// request in flight; otherwise `401`. Never allowed by default. One per loop.
final class AuthorizationStep: RequestStep {
    private let server: ServerContext
    private let policy: AccessPolicy
    private let loop: EventLoop
    private let caller: AuthCaller?
    private var cache = DecisionCache<CachedDecision>()
    private var inFlight = SingleFlight<ServerRequest>()

    /// A remembered answer: a grant until its max-age, a refusal for a second.
    enum CachedDecision {
        case allowed(AuthGrant, decidedAt: UInt64)
        case denied(status: Int, body: [UInt8], wwwAuthenticate: String?)
    }

    init(server: ServerContext, policy: AccessPolicy, loop: EventLoop, caller: AuthCaller?) {
        self.server = server
        self.policy = policy
        self.loop = loop
        self.caller = caller
    }

    func decide(_ request: ServerRequest) -> StepResult {
        switch request.route {
        case .stream(let stream):
            return decide(request, channels: stream.channels, lastEventID: stream.lastEventID)
        case .presence(let channel):
            return decide(request, channels: [channel], lastEventID: nil)
        default:
            return .proceed
        }
    }

    private var metrics: AuthMetrics { server.metrics.auth }

    private func decide(_ request: ServerRequest, channels: [String], lastEventID: String?) -> StepResult {
        let head = request.head
        let protectedChannels = ChannelAccess.protectedChannels(channels, protected: policy.protected)
        let token = AccessPolicy.token(of: head)
        if let verifier = policy.verifier, let token {
            switch verifier.verify(token, nowSeconds: Int64(Clock.wallMillis() / 1000)) {
            case .success(let claims):
                if let refused = protectedChannels.first(where: { !claims.maySubscribe(to: ChannelAccess.governingChannel($0)) }) {
                    metrics.count(.denied)
                    return .answer(.text(403, "forbidden: the token does not allow channel '\(refused)'"))
                }
                request.identity = Identity(user: claims.sub, info: claims.info, expiresAtMillis: UInt64(max(0, claims.exp)) * 1000)
                if !protectedChannels.isEmpty { metrics.count(.allowed) }
                return .proceed
                case .failure(.notJWT) where policy.callback != nil:
                break
            case .failure(let error):
                guard !protectedChannels.isEmpty else { return .proceed }
                metrics.count(.denied)
                return .answer(.text(401, error.message, headers: [("WWW-Authenticate", "Bearer error=\"invalid_token\"")]))
            }
        }
        guard !protectedChannels.isEmpty else { return .proceed }
        guard policy.callback != nil, let caller else {
            metrics.count(.denied)
            return .answer(.text(
                401, "this channel needs a token: Authorization: Bearer, the sse_token cookie, or ?token=",
                headers: [("WWW-Authenticate", "Bearer")]))
        }
        let key = DecisionKey.make(
            cookie: head.header("Cookie"), authorization: head.header("Authorization"), token: token, channels: protectedChannels)
        if let cached = cache.value(for: key, now: loop.now) {
            metrics.count(.cached)
            return apply(cached, to: request, protectedChannels: protectedChannels)
        }
        if case .joined = inFlight.beginOrJoin(key, request) { return .suspended }
        let headers = AuthCallbackRequest.headers(
            cookie: head.header("Cookie"), authorization: head.header("Authorization"), origin: head.header("Origin"),
            userAgent: head.header("User-Agent"), clientAddress: request.clientAddress,
            channels: ChannelAccess.governingChannels(protectedChannels),
            token: token, lastEventID: lastEventID)
        let started = loop.now
        caller.ask(headers: headers, timeoutNanos: policy.callbackTimeoutNanos) { [weak self] outcome in
            self?.answered(key, outcome, protectedChannels: protectedChannels, started: started)
        }
        return .suspended
    }

    private func answered(_ key: String, _ outcome: AuthCallOutcome, protectedChannels: [String], started: UInt64) {
        let now = loop.now
        metrics.observeLatency(nanos: now &- started)
        let answer: AuthCallbackAnswer
        switch outcome {
        case .answered(let status, let headers, let body):
            answer = AuthCallbackAnswer.interpret(
                status: status, headers: headers, body: body, asked: ChannelAccess.governingChannels(protectedChannels))
        case .failed(let reason):
            answer = .unavailable(reason: reason)
        }
        let decision: CachedDecision?
        switch answer {
        case .allowed(let grant):
            let allowed = CachedDecision.allowed(grant, decidedAt: Clock.wallMillis())
            decision = allowed
            if grant.cacheSeconds > 0 { cache.store(allowed, for: key, expiry: now &+ UInt64(grant.cacheSeconds) * 1_000_000_000, now: now) }
        case .denied(let status, let body, let wwwAuthenticate):
            let denied = CachedDecision.denied(status: status, body: body, wwwAuthenticate: wwwAuthenticate)
            decision = denied
            // A refusal is remembered briefly, so a reconnect storm asks once a second.
            cache.store(denied, for: key, expiry: now &+ 1_000_000_000, now: now)
        case .unavailable(let reason):
            decision = nil
            server.logger.warning("auth callback: \(reason)")
        }
        for request in inFlight.complete(key) {
            guard let decision else {
                metrics.count(.unavailable)
                request.resume(Self.unavailable(request))
                continue
            }
            request.resume(apply(decision, to: request, protectedChannels: protectedChannels, counting: true))
        }
    }

    private func apply(_ decision: CachedDecision, to request: ServerRequest, protectedChannels: [String], counting: Bool = false) -> StepResult {
        switch decision {
        case .allowed(let grant, let decidedAt):
            if let refused = protectedChannels.first(where: { !grant.channels.contains(ChannelAccess.governingChannel($0)) && !grant.channels.contains($0) }) {
                if counting { metrics.count(.denied) }
                return .answer(.text(403, "forbidden: channel '\(refused)' is not allowed"))
            }
            if counting { metrics.count(.allowed) }
            request.identity = Identity(
                user: grant.user, info: grant.info,
                expiresAtMillis: grant.expiresIn.map { decidedAt + UInt64($0) * 1000 })
            return .proceed
        case .denied(let status, let body, let wwwAuthenticate):
            if counting { metrics.count(.denied) }
            var headers: [(name: String, value: String)] = [("Content-Type", "text/plain; charset=utf-8")]
            if let wwwAuthenticate { headers.append(("WWW-Authenticate", wwwAuthenticate)) }
            return .answer(Response(status: status, headers: headers, body: body))
        }
    }

    /// The app cannot answer: an EventSource is told to try again later (a
    /// status other than 200 would make it give up), anything else gets 503.
    static func unavailable(_ request: ServerRequest) -> StepResult {
        if request.head.header("Accept")?.contains("text/event-stream") == true {
            return .streamNotice(EventEncoder.block(type: "sse-error", data: "{\"reason\":\"auth-unavailable\"}"))
        }
        return .answer(.text(503, "the authorization service is unavailable; try again shortly", headers: [("Retry-After", "2")]))
    }
}
