import HTTP
import OutboundHTTP
import Reactor

/// The auth callback over the outbound HTTP client: one client per loop, so
/// its keep-alive connections to the app belong to the loop that asks.
final class OutboundAuthCaller: AuthCaller {
    private let client: HTTPClient
    private let url: HTTPURL

    init(url: HTTPURL, loop: EventLoop) {
        self.url = url
        client = HTTPClient(loop: loop)
    }

    func ask(headers: [(String, String)], timeoutNanos: UInt64, done: @escaping (AuthCallOutcome) -> Void) {
        let request = OutboundRequest(
            method: "GET", url: url, headers: headers.map { (name: $0.0, value: $0.1) },
            timeoutNanos: timeoutNanos, maxBodyBytes: 64 * 1024)
        client.execute(request) { result in
            switch result {
            case .success(let response):
                done(.answered(status: response.head.status, headers: response.head.headers, body: response.body))
            case .failure(let error):
                done(.failed("auth callback \(error)"))
            }
        }
    }
}
