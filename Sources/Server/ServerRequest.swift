import HTTP

/// One request on its way through the responder chain: its head and route,
/// the client's address, and the identity the steps establish.
///
/// A step that must wait for an outside answer keeps the request and calls
/// `resume` later, on the same loop; the connection serves nothing else in
/// the meantime, and the loop serves everyone else.
final class ServerRequest {
    let head: RequestHead
    /// Steps may narrow it (an auth answer's `SSE-Channels`).
    var route: Route
    /// The peer's address, looked up on first use.
    var clientAddress: String { connection?.clientAddress ?? "-" }
    var identity = Identity.anonymous
    weak var connection: Connection?
    /// The index of the step that suspended the request.
    var suspendedAt = 0
    /// A step's answer that came before the step had returned `.suspended`
    /// (its outside call finished at once); the chain takes it from here.
    var earlyResult: StepResult?

    init(head: RequestHead, route: Route, connection: Connection) {
        self.head = head
        self.route = route
        self.connection = connection
    }

    /// Finishes the step that suspended this request. Call on its loop; a
    /// request whose connection has closed meanwhile is forgotten.
    func resume(_ result: StepResult) {
        guard let connection else { return }
        guard connection.waitingRequest === self else {
            // Still inside the step's `decide`: the chain picks it up on return.
            if connection.request === self && earlyResult == nil { earlyResult = result }
            return
        }
        connection.context.loop.assertInLoop()
        connection.resumeSteps(self, with: result)
    }
}

/// What a step decided about a request.
enum StepResult {
    /// On to the next step, then the handler.
    case proceed
    /// This is the answer; the handler is not run.
    case answer(Response)
    /// An answer for an EventSource that must keep trying: `200`, the stream's
    /// head, these bytes (a `retry:` hint, an `sse-error` event), then a close.
    case streamNotice([UInt8])
    /// The step will call `ServerRequest.resume` later.
    case suspended
}

/// One link of the chain between routing and the handler (tokens,
/// authorization, fetching history from the store). Each loop has its own
/// instances, so a step may keep loop-bound state (caches, outbound clients).
protocol RequestStep: AnyObject {
    /// Decides on `request` on its loop. Returning `.suspended` promises a
    /// later `request.resume(...)` on the same loop.
    func decide(_ request: ServerRequest) -> StepResult
}
