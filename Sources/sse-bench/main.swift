import Glibc

// sse-bench: fan-out load for an SSE server on loopback. See Benchmarks/README.md.

let usage = """
    usage: sse-bench SCENARIO --sub URL [--pub URL] [--server-pid PID] [--server NAME] [options]
           sse-bench ingest --sub URL --fifo PATH [--lines N] [--server-pid PID]
           sse-bench churn --sub URL --presence URL [--total N] [--rate CONN_PER_S] [--hold-ms MS]
                 [--keep N] [--token-file FILE] [--server-pid PID[,PID]] [--settle S]
           sse-bench compare A.jsonl B.jsonl [C.jsonl] [--names A,B,C]
      SCENARIO: S1 (1,000 subs, 100 ev/s, 20 s)  S2 (10,000 subs, 10 ev/s, 20 s)
                S3 (1 sub, publish as fast as possible, 10 s)  S4 (15,000 idle subs: memory)
                S6 (2,000 subs over two nodes with --sub2, 100 ev/s, 20 s)  S7 (S3 across nodes)
                smoke (50 subs, 100 events, exits 1 unless all delivered)  run (custom)
      --sub2 URL: a second node's subscribe URL; every other worker subscribes there (scale-out)
      --server-pid A,B: figures summed over several processes (and their children)
      URL: http://127.0.0.1:PORT/path, `{ch}` replaced by a fresh channel name per run
      options: --subscribers N --rate EV_PER_S (0 = max) --duration S --scale F --events N
               --publishers N --workers N --event-bytes N --drain S --connect-timeout S
               --max-pending N --idle --json-out FILE (append the JSON line)
    """

func writeErr(_ s: String) {
    var bytes = Array((s + "\n").utf8)
    _ = bytes.withUnsafeMutableBytes { Sockets.writeAll(2, UnsafeRawBufferPointer($0)) }
}

func appendLine(_ line: String, to path: String) throws(BenchError) {
    let fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
    guard fd >= 0 else { throw .system("open(\(path))", errno) }
    defer { close(fd) }
    var bytes = Array((line + "\n").utf8)
    _ = bytes.withUnsafeMutableBytes { Sockets.writeAll(fd, UnsafeRawBufferPointer($0)) }
}

func publish(_ report: Report, _ options: Options) throws(BenchError) {
    print(report.table)
    print(report.jsonLine)
    if let path = options.string("json-out") { try appendLine(report.jsonLine, to: path) }
}

func main() -> Int32 {
    let args = CommandLine.arguments
    guard args.count >= 2, args[1] != "--help", args[1] != "-h" else {
        print(usage)
        return args.count >= 2 ? 0 : 2
    }
    // Writes to a socket the server reset must fail with EPIPE, not kill the bench.
    signal(SIGPIPE, SIG_IGN)
    _ = Sockets.raiseFileLimit()
    do {
        let o = try Options(args.dropFirst(2))
        switch args[1] {
        case "worker":
            guard let url = o.string("url"), let count = try o.int("count") else { throw BenchError.usage("worker --url U --count N") }
            let worker = try SubscriberWorker(.init(
                target: try Target(url, channel: "-"), count: count, sourceBase: try o.int("source-base") ?? 0,
                maxPending: try o.int("max-pending") ?? 200,
                connectTimeoutMs: Int64(try o.int("connect-timeout-ms") ?? 60_000),
                hardDeadlineMs: Int64(try o.int("hard-deadline-ms") ?? 120_000)))
            try worker.run()
            return 0
        case "ingest":
            var s = IngestRun.Settings()
            guard let url = o.string("sub"), let fifo = o.string("fifo") else { throw BenchError.usage("ingest --sub URL --fifo PATH") }
            s.subscribeURL = url
            s.fifo = fifo
            s.server = o.string("server") ?? "sse-serve"
            if let v = try o.int("lines") { s.lines = v }
            if let v = try o.int("server-pid") { s.serverPid = Int32(v) }
            if let v = try o.double("timeout") { s.timeout = v }
            let report = try IngestRun(settings: s).run()
            try publish(report, o)
            return report.jsonLine.contains("\"ok\":true") ? 0 : 1
        case "churn":
            var s = ChurnRun.Settings()
            guard let url = o.string("sub"), let presence = o.string("presence") else {
                throw BenchError.usage("churn --sub URL --presence URL [--total N] [--rate N] [--hold-ms MS] [--keep N] [--token-file F]")
            }
            s.subscribeURL = url
            s.presenceURL = presence
            s.label = o.string("server") ?? "sse-serve"
            if let v = try o.int("total") { s.total = max(v, 1) }
            if let v = try o.double("rate") { s.rate = max(v, 1) }
            if let v = try o.int("hold-ms") { s.holdMs = max(v, 0) }
            if let v = try o.int("keep") { s.keep = min(max(v, 0), s.total) }
            if let v = try o.double("settle") { s.settleSeconds = v }
            if let v = o.string("server-pid") { s.serverPids = v.split(separator: ",").compactMap { Int32($0) } }
            if let path = o.string("token-file") {
                guard let text = ServerProbe.readFile(path) else { throw BenchError.failed("cannot read \(path)") }
                s.tokens = text.split(separator: "\n").map(String.init).filter { !$0.isEmpty }
            }
            let report = try ChurnRun(s).run()
            try publish(report, o)
            return report.jsonLine.contains("\"ok\":true") ? 0 : 1
        case "compare":
            guard (2...3).contains(o.positional.count) else {
                throw BenchError.usage("compare A.jsonl B.jsonl [C.jsonl] [--names A,B,C]")
            }
            let names = (o.string("names") ?? "A,B,C").split(separator: ",").map(String.init)
            var runs: [(name: String, rows: [[String: String]])] = []
            for (i, path) in o.positional.enumerated() {
                runs.append((i < names.count ? names[i] : ["A", "B", "C"][i], try Compare.load(path)))
            }
            print(Compare.table(runs))
            return 0
        default:
            let settings = try Scenarios.settings(args[1], o)
            let report = try FanOutRun(settings).run()
            try publish(report, o)
            // The smoke run is a CI check: it fails unless every event reached every subscriber.
            if settings.scenario == "smoke" && !report.jsonLine.contains("\"ok\":true") { return 1 }
            return 0
        }
    } catch {
        writeErr("sse-bench: \(error)")
        return 2
    }
}

exit(main())
