/// The scenarios as presets of a fan-out run; any option given on the command line wins.
enum Scenarios {
    static let names = ["S1", "S2", "S3", "S4", "S6", "S7", "smoke"]

    static func settings(_ name: String, _ o: Options) throws(BenchError) -> FanOutRun.Settings {
        var s = FanOutRun.Settings()
        s.scenario = name
        switch name.uppercased() {
        case "S1": s.subscribers = 1000; s.rate = 100; s.duration = 20; s.publishers = 2; s.workers = 2
        case "S2": s.subscribers = 10_000; s.rate = 10; s.duration = 20; s.publishers = 2; s.workers = 2
        case "S3": s.subscribers = 1; s.rate = 0; s.duration = 10; s.publishers = 4; s.workers = 1
        case "S6": s.subscribers = 2000; s.rate = 100; s.duration = 20; s.publishers = 2; s.workers = 2
        case "S7": s.subscribers = 1; s.rate = 0; s.duration = 10; s.publishers = 4; s.workers = 1
        case "S4": s.subscribers = 15_000; s.idle = true; s.workers = 2; s.maxPendingPerWorker = 500
        case "SMOKE":
            s.scenario = "smoke"; s.subscribers = 50; s.rate = 200; s.duration = 5; s.maxEvents = 100
            s.publishers = 2; s.workers = 1; s.drainSeconds = 2; s.connectTimeout = 3
        case "RUN": s.scenario = "custom"
        default: throw .usage("unknown scenario \(name) (S1, S2, S3, S4, S6, S7, smoke, run; S5 is `ingest`, presence churn is `churn`)")
        }
        guard let url = o.string("sub") ?? o.string("url") else { throw .usage("--sub URL is required") }
        s.subscribeURL = url
        s.publishURL = o.string("pub") ?? url
        s.server = o.string("server") ?? "server"
        if let v = try o.int("subscribers") { s.subscribers = v }
        if let v = try o.double("rate") { s.rate = v }
        if let v = try o.double("duration") { s.duration = v }
        if let v = try o.double("scale") { s.duration *= v }
        if let v = try o.int("events") { s.maxEvents = v }
        if let v = try o.int("publishers") { s.publishers = v }
        if let v = try o.int("workers") { s.workers = v }
        if let v = try o.int("event-bytes") { s.eventBytes = max(v, 48) }
        if let v = o.string("server-pid") {
            // Comma-separated: the figures sum every process named (two nodes, or a node and Redis).
            for p in v.split(separator: ",") {
                guard let n = Int32(p) else { throw .usage("--server-pid \(v): not a list of process ids") }
                s.serverPids.append(n)
            }
        }
        if let v = o.string("sub2") { s.secondSubscribeURL = v }
        if let v = try o.double("drain") { s.drainSeconds = v }
        if let v = try o.double("connect-timeout") { s.connectTimeout = v }
        if let v = try o.int("max-pending") { s.maxPendingPerWorker = max(v, 1) }
        if o.has("idle") { s.idle = true }
        guard s.subscribers >= 1, s.subscribers <= 100_000 else { throw .usage("--subscribers must be 1…100000") }
        guard s.duration > 0, s.duration <= 600 else { throw .usage("--duration must be in (0, 600] seconds") }
        return s
    }
}
