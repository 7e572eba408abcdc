import Synchronization

/// Counters of access decisions and the auth callback's latency, for `/metrics`.
final class AuthMetrics: Sendable {
    enum Result: Int, CaseIterable {
        case allowed, denied, unavailable, cached
        var label: String {
            switch self {
            case .allowed: "allowed"
            case .denied: "denied"
            case .unavailable: "unavailable"
            case .cached: "cached"
            }
        }
    }

    /// Upper bounds of the latency histogram's buckets, in seconds.
    static let bucketBounds: [Double] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5]

    /// One counter in its own allocation (`Atomic` cannot sit in an array).
    final class Counter: Sendable { let value = Atomic<UInt64>(0) }

    private let decisions = (0..<Result.allCases.count).map { _ in Counter() }
    private let buckets = (0..<AuthMetrics.bucketBounds.count + 1).map { _ in Counter() }
    private let latencySumMicros = Atomic<UInt64>(0)

    func count(_ result: Result) { decisions[result.rawValue].value.add(1, ordering: .relaxed) }

    func observeLatency(nanos: UInt64) {
        let seconds = Double(nanos) / 1e9
        let index = Self.bucketBounds.firstIndex(where: { seconds <= $0 }) ?? Self.bucketBounds.count
        buckets[index].value.add(1, ordering: .relaxed)
        latencySumMicros.add(nanos / 1000, ordering: .relaxed)
    }

    /// The Prometheus text of these metrics.
    func render() -> String {
        var out = "# HELP sse_auth_decisions_total Stream authorization decisions by result.\n# TYPE sse_auth_decisions_total counter\n"
        for result in Result.allCases {
            out += "sse_auth_decisions_total{result=\"\(result.label)\"} \(decisions[result.rawValue].value.load(ordering: .relaxed))\n"
        }
        out += "# HELP sse_auth_callback_seconds Latency of the auth callback.\n# TYPE sse_auth_callback_seconds histogram\n"
        var cumulative: UInt64 = 0
        for (i, bound) in Self.bucketBounds.enumerated() {
            cumulative += buckets[i].value.load(ordering: .relaxed)
            out += "sse_auth_callback_seconds_bucket{le=\"\(bound)\"} \(cumulative)\n"
        }
        cumulative += buckets[Self.bucketBounds.count].value.load(ordering: .relaxed)
        out += "sse_auth_callback_seconds_bucket{le=\"+Inf\"} \(cumulative)\n"
        out += "sse_auth_callback_seconds_sum \(Double(latencySumMicros.load(ordering: .relaxed)) / 1e6)\n"
        out += "sse_auth_callback_seconds_count \(cumulative)\n"
        return out
    }
}
