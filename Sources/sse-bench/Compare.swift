/// `sse-bench compare A.jsonl B.jsonl [C.jsonl]`: the side-by-side table of the runs' JSON lines,
/// scenario by scenario, with the ratio of A to each other run for each figure, and the issues'
/// targets checked (issue 14's when one run is named `floor`).
enum Compare {
    /// A figure in the comparison table, and which way is better.
    struct Row {
        let key: String
        let label: String
        let lowerIsBetter: Bool
    }

    static let rows: [Row] = [
        Row(key: "subscribers_ready", label: "subscribers ready", lowerIsBetter: false),
        Row(key: "failed_connections", label: "failed connections", lowerIsBetter: true),
        Row(key: "connect_s", label: "connect all (s)", lowerIsBetter: true),
        Row(key: "published", label: "published", lowerIsBetter: false),
        Row(key: "expected", label: "expected deliveries", lowerIsBetter: false),
        Row(key: "delivered", label: "delivered", lowerIsBetter: false),
        Row(key: "missing", label: "missing", lowerIsBetter: true),
        Row(key: "delivered_per_s", label: "delivered events/s", lowerIsBetter: false),
        Row(key: "lat_p50_ms", label: "latency p50 (ms)", lowerIsBetter: true),
        Row(key: "lat_p90_ms", label: "latency p90 (ms)", lowerIsBetter: true),
        Row(key: "lat_p99_ms", label: "latency p99 (ms)", lowerIsBetter: true),
        Row(key: "lat_max_ms", label: "latency max (ms)", lowerIsBetter: true),
        Row(key: "server_cpu_s", label: "server CPU (s)", lowerIsBetter: true),
        Row(key: "server_cpu_us_per_event", label: "server CPU µs/event", lowerIsBetter: true),
        Row(key: "server_rss_peak_kb", label: "server peak RSS (KiB)", lowerIsBetter: true),
        Row(key: "server_rss_final_kb", label: "server final RSS (KiB)", lowerIsBetter: true),
        Row(key: "rss_per_conn_bytes", label: "RSS per connection (B)", lowerIsBetter: true),
        Row(key: "pss_per_conn_bytes", label: "PSS per connection (B)", lowerIsBetter: true),
        Row(key: "lines_per_s", label: "stdin lines/s", lowerIsBetter: false),
        Row(key: "bench_cpu_pct", label: "bench CPU (% of a core)", lowerIsBetter: true),
    ]

    /// Reads flat JSON objects, one per line (the bench's own output, no nesting).
    static func load(_ path: String) throws(BenchError) -> [[String: String]] {
        guard let text = ServerProbe.readFile(path) else { throw .failed("\(path): cannot read") }
        return text.split(separator: "\n").compactMap { line in
            guard line.hasPrefix("{") else { return nil }
            var out: [String: String] = [:]
            var key = ""
            var token = ""
            var inString = false
            var expectingKey = true
            var escaped = false
            for ch in line.dropFirst() {
                if inString {
                    if escaped { token.append(ch); escaped = false }
                    else if ch == "\\" { escaped = true }
                    else if ch == "\"" { inString = false }
                    else { token.append(ch) }
                    continue
                }
                switch ch {
                case "\"": inString = true
                case ":" where expectingKey: key = token; token = ""; expectingKey = false
                case ",", "}": out[key] = token; token = ""; expectingKey = true
                default: token.append(ch)
                }
            }
            return out
        }
    }

    /// The table of the first run beside the others, with the ratio of the first to each of them.
    static func table(_ runs: [(name: String, rows: [[String: String]])]) -> String {
        precondition(runs.count >= 2)
        let a = runs[0].rows
        let nameA = runs[0].name
        var lines: [String] = []
        var scenarios: [String] = []
        for r in runs.flatMap(\.rows) { if let sc = r["scenario"], !scenarios.contains(sc) { scenarios.append(sc) } }
        func pad(_ s: String, _ w: Int, right: Bool = true) -> String {
            let fill = String(repeating: " ", count: max(w - s.count, 0))
            return right ? fill + s : s + fill
        }
        let others = runs.dropFirst()
        lines.append(
            pad("scenario", 9, right: false) + pad("figure", 26, right: false) + runs.map { pad($0.name, 14) }.joined()
                + others.map { pad("A/\($0.name)", 12) }.joined())
        for sc in scenarios {
            let found = runs.map { run in run.rows.last(where: { $0["scenario"] == sc }) ?? [:] }
            for row in rows {
                guard found.contains(where: { $0[row.key] != nil }) else { continue }
                let values = found.map { $0[row.key] ?? "n/a" }
                var line = pad(sc, 9, right: false) + pad(row.label, 26, right: false) + values.map { pad($0, 14) }.joined()
                for v in values.dropFirst() {
                    var ratio = ""
                    if let x = Double(values[0]), let y = Double(v), y != 0 { ratio = Report.fixed(x / y, 3) }
                    line += pad(ratio, 12)
                }
                lines.append(line)
            }
            lines.append(pad(sc, 9, right: false) + pad("all delivered (ok)", 26, right: false) + found.map { pad($0["ok"] ?? "n/a", 14) }.joined())
            lines.append("")
        }
        func value(_ rs: [[String: String]], _ sc: String, _ key: String) -> Double? {
            rs.last(where: { $0["scenario"] == sc }).flatMap { $0[key] }.flatMap(Double.init)
        }
        func check(_ text: String, _ holds: Bool?) {
            lines.append("  [\(holds == nil ? "n/a " : holds! ? "PASS" : "FAIL")] \(text)")
        }
        func ratio(_ b: [[String: String]], _ sc: String, _ key: String) -> Double? {
            guard let x = value(a, sc, key), let y = value(b, sc, key), y > 0 else { return nil }
            return x / y
        }
        func target(_ text: String, _ r: Double?, _ holds: (Double) -> Bool) {
            check(text + (r.map { " — ratio \(Report.fixed($0, 3))" } ?? ""), r.map(holds))
        }
        let b = runs[1].rows
        let nameB = runs[1].name
        lines.append("targets (issue 5), A = \(nameA), B = \(nameB):")
        for sc in ["S1", "S2", "S3"] {
            check("\(sc): every event delivered (A)", a.last(where: { $0["scenario"] == sc }).map { $0["ok"] == "true" })
        }
        target("S1: server CPU per delivered event ≤ 0.4× B", ratio(b, "S1", "server_cpu_us_per_event")) { $0 <= 0.4 }
        target("S2: server CPU per delivered event ≤ 0.4× B", ratio(b, "S2", "server_cpu_us_per_event")) { $0 <= 0.4 }
        target("S1: p99 latency ≤ 0.5× B", ratio(b, "S1", "lat_p99_ms")) { $0 <= 0.5 }
        target("S2: p50 latency ≤ 0.3× B", ratio(b, "S2", "lat_p50_ms")) { $0 <= 0.3 }
        target("S2: p99 latency ≤ 0.3× B", ratio(b, "S2", "lat_p99_ms")) { $0 <= 0.3 }
        target("S3: delivered events/s ≥ 2× B", ratio(b, "S3", "delivered_per_s")) { $0 >= 2 }
        target("S4: RSS per connection ≤ 0.4× B (Pss)", ratio(b, "S4", "pss_per_conn_bytes")) { $0 <= 0.4 }
        let s5 = value(a, "S5", "lines_per_s")
        check("S5: ≥ 1,000,000 stdin lines/s end to end (A)" + (s5.map { " — \(Report.fixed($0, 0))/s" } ?? ""), s5.map { $0 >= 1_000_000 })
        if let floor = runs.first(where: { $0.name == "floor" }) {
            let f = floor.rows
            lines.append("targets (issue 14), A = \(nameA), F = floor:")
            target("S1: server CPU per delivery ≤ 1.05× F", ratio(f, "S1", "server_cpu_us_per_event")) { $0 <= 1.05 }
            target("S2: server CPU per delivery ≤ 1.05× F", ratio(f, "S2", "server_cpu_us_per_event")) { $0 <= 1.05 }
            target("S1: p99 latency no worse than F", ratio(f, "S1", "lat_p99_ms")) { $0 <= 1 }
            target("S2: p99 latency no worse than F", ratio(f, "S2", "lat_p99_ms")) { $0 <= 1 }
            target("S3: server CPU per published and delivered event ≤ 1.2× F", ratio(f, "S3", "server_cpu_us_per_event")) { $0 <= 1.2 }
            check("S5: ≥ 3,000,000 stdin lines/s end to end (A)" + (s5.map { " — \(Report.fixed($0, 0))/s" } ?? ""), s5.map { $0 >= 3_000_000 })
        }
        return lines.joined(separator: "\n")
    }
}
