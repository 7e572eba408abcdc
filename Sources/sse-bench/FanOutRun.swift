import Glibc

/// One fan-out measurement: subscriber workers open their streams, this process publishes at a
/// rate (or as fast as it can, or not at all for an idle run), then every worker reports what it
/// received; the server's CPU and memory are sampled from /proc throughout.
final class FanOutRun {
    /// What to run; the scenarios are presets of this.
    struct Settings {
        var scenario = "custom"
        var server = "server"
        var subscribeURL = ""
        var publishURL = ""
        var subscribers = 100
        var rate = 100.0  // events/s; 0 = as fast as responses come back
        var duration = 5.0  // seconds of publishing
        var maxEvents = Int.max
        var publishers = 2
        var workers = 2
        var eventBytes = 100
        var idle = false  // open the streams, measure memory, publish nothing
        var serverPids: [Int32] = []
        /// A second node's subscribe URL (scale-out): every other worker subscribes there.
        var secondSubscribeURL = ""
        var drainSeconds = 5.0
        var connectTimeout = 60.0
        var maxPendingPerWorker = 200
        var hardDeadlineSeconds = 0.0  // 0: derived from the others
    }

    private let settings: Settings
    private var peakRSS = 0
    private var lastRSSSample: Int64 = 0

    init(_ settings: Settings) { self.settings = settings }

    func run() throws(BenchError) -> Report {
        let s = settings
        let channel = "bench-\(getpid())-\(Clocks.wallNanos() / 1_000_000 % 100_000_000)"
        let sub = try Target(s.subscribeURL, channel: channel)
        let pub = try Target(s.publishURL.isEmpty ? s.subscribeURL : s.publishURL, channel: channel)
        let sub2 = s.secondSubscribeURL.isEmpty ? nil : try Target(s.secondSubscribeURL, channel: channel)
        let probe = s.serverPids.isEmpty ? nil : ServerProbe(pids: s.serverPids)
        if !s.serverPids.isEmpty && probe == nil { throw .failed("--server-pid \(s.serverPids): no such process") }
        let wallStart = Clocks.monoNanos()
        let before = probe?.sample(withPss: true)
        peakRSS = before?.rssKB ?? 0

        // Subscribers, spread over worker processes (each may hold ~19,000 descriptors).
        let workerCount = max(sub2 == nil ? 1 : 2, min(s.workers, s.subscribers))
        let hard = s.hardDeadlineSeconds > 0
            ? s.hardDeadlineSeconds : s.connectTimeout + s.duration + s.drainSeconds + 30
        var workers: [WorkerProcess] = []
        defer { for w in workers { w.finish(graceMs: 2000) } }
        var base = 0
        for k in 0..<workerCount {
            let n = s.subscribers / workerCount + (k < s.subscribers % workerCount ? 1 : 0)
            workers.append(try WorkerProcess(arguments: [
                "worker", "--url", (k % 2 == 1 ? sub2 ?? sub : sub).description, "--count", "\(n)", "--source-base", "\(base)",
                "--max-pending", "\(s.maxPendingPerWorker)",
                "--connect-timeout-ms", "\(Int(s.connectTimeout * 1000))",
                "--hard-deadline-ms", "\(Int(hard * 1000))",
            ]))
            base += n
        }
        var ready: Int64 = 0
        var readyPerNode: [Int64] = [0, 0]
        var failed: Int64 = 0
        var connectError = ""
        let readyDeadline = Clocks.monoNanos() + Int64((s.connectTimeout + 10) * 1e9)
        for (k, w) in workers.enumerated() {
            guard let line = w.readLine(deadline: readyDeadline) else { throw .failed("a subscriber worker never reported ready") }
            let l = WorkerLine(line)
            ready += l.int("ok")
            readyPerNode[k % 2] += l.int("ok")
            failed += l.int("failed")
            if connectError.isEmpty, let e = l.values["error"] { connectError = String(e) }
        }
        let connectSeconds = Double(Clocks.monoNanos() - wallStart) / 1e9
        // The server's CPU for accepting and authorizing every stream: steadier than the wall time
        // of the opening on a shared, loaded machine.
        let connectCPU = (probe?.sample().cpuSeconds ?? 0) - (before?.cpuSeconds ?? 0)
        sampleRSS(probe, force: true)

        var afterConnect: ServerProbe.Sample? = nil
        if s.idle {
            // Let the server finish whatever allocation follows the last accept before reading memory.
            usleep(1_000_000)
            afterConnect = probe?.sample(withPss: true)
            peakRSS = max(peakRSS, afterConnect?.rssKB ?? 0)
        }

        // Publishing.
        let cpuAtStart = probe?.sample().cpuSeconds ?? 0
        let poller = try Poller(capacity: 64)
        let publisher = Publisher(target: pub, connections: s.publishers, eventBytes: s.eventBytes, poller: poller, tokenBase: 1 << 40)
        let publishStart = Clocks.monoNanos()
        let publishStartWall = Clocks.wallNanos()
        if !s.idle {
            let end = publishStart + Int64(s.duration * 1e9)
            publisher.connectAll()
            while true {
                let now = Clocks.monoNanos()
                if now >= end || publisher.sent >= s.maxEvents { break }
                publisher.connectAll()
                let due = s.rate > 0 ? min(Int(Double(now - publishStart) * s.rate / 1e9), s.maxEvents) : s.maxEvents
                if publisher.sent < due { _ = publisher.send(upTo: due - publisher.sent) }
                try poller.wait(timeoutMs: s.rate > 0 ? 1 : 5) { token, _ in publisher.handle(token) }
                sampleRSS(probe)
            }
            // Collect the answers to requests still in flight (bounded).
            let settle = Clocks.monoNanos() + 5_000_000_000
            while publisher.inFlight > 0 && Clocks.monoNanos() < settle {
                try poller.wait(timeoutMs: 20) { token, _ in publisher.handle(token) }
                sampleRSS(probe)
            }
        }
        let publishSeconds = Double(Clocks.monoNanos() - publishStart) / 1e9
        let published = publisher.acknowledged
        publisher.closeAll()

        // Tell the workers how many events each stream should get, then wait for their results.
        for w in workers { w.send("done \(published) \(Int(s.drainSeconds * 1000))") }
        var results: [WorkerLine?] = Array(repeating: nil, count: workers.count)
        let resultDeadline = Clocks.monoNanos() + Int64((s.drainSeconds + 10) * 1e9)
        while results.contains(where: { $0 == nil }) && Clocks.monoNanos() < resultDeadline {
            for (k, w) in workers.enumerated() where results[k] == nil {
                if let line = w.readLine(deadline: Clocks.monoNanos() + 50_000_000), line.hasPrefix("result") {
                    results[k] = WorkerLine(line)
                } else if w.exited {
                    results[k] = WorkerLine("result lost=1")
                }
            }
            sampleRSS(probe)
        }
        // Delivery time runs to the last event any subscriber read (not to the drain timeout, which
        // a server that lost events would otherwise be charged for).
        let lastDelivery = results.compactMap { $0?.int("last_ns") }.max() ?? 0
        let deliverySeconds = lastDelivery > publishStartWall
            ? Double(lastDelivery - publishStartWall) / 1e9 : Double(Clocks.monoNanos() - publishStart) / 1e9
        let end = probe?.sample(withPss: true)
        for w in workers { w.finish(graceMs: 2000) }
        workers.removeAll()
        let benchCPU = OwnUsage.cpuSeconds()
        let wallSeconds = Double(Clocks.monoNanos() - wallStart) / 1e9

        // Aggregate.
        var hist = Histogram()
        var delivered: Int64 = 0, foreign: Int64 = 0, disorder: Int64 = 0, ended: Int64 = 0
        var protocolErrors: Int64 = 0, lostWorkers = 0
        var deliveredPerNode: [Int64] = [0, 0]
        for (k, r) in results.enumerated() {
            guard let r, r.values["lost"] == nil else { lostWorkers += 1; continue }
            delivered += r.int("delivered")
            deliveredPerNode[k % 2] += r.int("delivered")
            foreign += r.int("foreign")
            disorder += r.int("out_of_order")
            ended += r.int("ended")
            protocolErrors += r.int("protocol_errors")
            if let h = r.values["hist"] { hist.merge(encoded: h) }
            hist.merge(max: r.int("max_us"))
        }
        // The ready line already counted connect failures; the result repeats them.
        failed = results.compactMap { $0 }.reduce(0) { $0 + $1.int("failed") }
        let expected = Int64(published) * ready
        let serverCPU = (end?.cpuSeconds ?? 0) - cpuAtStart

        var r = Report()
        r.add("scenario", .text(s.scenario))
        r.add("server", .text(s.server))
        r.add("subscribers", .int(Int64(s.subscribers)), "requested")
        r.add("subscribers_ready", .int(ready))
        r.add("failed_connections", .int(failed), connectError.isEmpty ? "" : "first: \(connectError)")
        r.add("streams_ended_early", .int(ended))
        r.add("connect_s", .number(connectSeconds, decimals: 3), "time to open all streams")
        if probe != nil {
            r.add("connect_server_cpu_s", .number(connectCPU, decimals: 3), "server CPU while they opened")
        }
        if !s.idle {
            r.add("rate_target", .number(s.rate, decimals: 0), s.rate > 0 ? "events/s" : "as fast as possible")
            r.add("publish_s", .number(publishSeconds, decimals: 3))
            r.add("published", .int(Int64(published)), "acknowledged publishes")
            r.add("publish_rejected", .int(Int64(publisher.rejected)), publisher.firstError)
            r.add("publish_rate", .number(Double(published) / max(publishSeconds, 1e-9), decimals: 1), "events/s")
            r.add("expected", .int(expected), "published × ready subscribers")
            r.add("delivered", .int(delivered))
            r.add("missing", .int(expected - delivered))
            if sub2 != nil {
                for n in 0..<2 {
                    r.add("node\(n + 1)_subscribers", .int(readyPerNode[n]), n == 0 ? "the node published on" : "the other node")
                    r.add("node\(n + 1)_missing", .int(Int64(published) * readyPerNode[n] - deliveredPerNode[n]))
                }
            }
            r.add("delivered_per_s", .number(Double(delivered) / max(deliverySeconds, 1e-9), decimals: 1), "over \(Report.fixed(deliverySeconds, 2)) s")
            r.add("out_of_order", .int(disorder))
            r.add("foreign_events", .int(foreign))
            r.add("protocol_errors", .int(protocolErrors))
            r.add("lat_p50_ms", .number(hist.percentile(0.50) / 1000, decimals: 3))
            r.add("lat_p90_ms", .number(hist.percentile(0.90) / 1000, decimals: 3))
            r.add("lat_p99_ms", .number(hist.percentile(0.99) / 1000, decimals: 3))
            r.add("lat_max_ms", .number(Double(hist.maxMicros) / 1000, decimals: 3))
        }
        if let before, let end {
            r.add("server_cpu_s", .number(serverCPU, decimals: 3), s.idle ? "" : "from first publish to last delivery")
            if !s.idle && delivered > 0 {
                r.add("server_cpu_us_per_event", .number(serverCPU * 1e6 / Double(delivered), decimals: 3), "per delivered event")
            }
            r.add("server_rss_before_kb", .int(Int64(before.rssKB)))
            r.add("server_rss_peak_kb", .int(Int64(max(peakRSS, end.rssKB))), "sampled VmRSS")
            r.add("server_rss_final_kb", .int(Int64(end.rssKB)))
            if s.idle, let afterConnect, ready > 0 {
                r.add("server_rss_after_kb", .int(Int64(afterConnect.rssKB)))
                r.add("rss_per_conn_bytes", .number(Double(afterConnect.rssKB - before.rssKB) * 1024 / Double(ready), decimals: 0), "(RSS after − before) / ready")
                r.add("pss_per_conn_bytes", .number(Double(afterConnect.pssKB - before.pssKB) * 1024 / Double(ready), decimals: 0), "same with Pss (shared pages split)")
            }
            r.add("server_processes", .int(Int64(probe?.pids.count ?? 0)))
        }
        r.add("bench_cpu_s", .number(benchCPU, decimals: 3), "all bench processes")
        r.add("bench_cpu_pct", .number(benchCPU * 100 / max(wallSeconds, 1e-9), decimals: 1), "of one core, over \(Report.fixed(wallSeconds, 1)) s")
        r.add("lost_workers", .int(Int64(lostWorkers)))
        let complete = s.idle ? failed == 0 && lostWorkers == 0 : (delivered >= expected && failed == 0 && ended == 0 && lostWorkers == 0 && published > 0)
        r.add("ok", .flag(complete), "every event delivered to every subscriber, no failures")
        return r
    }

    /// Samples the server's VmRSS at most every 100 ms for the peak.
    private func sampleRSS(_ probe: ServerProbe?, force: Bool = false) {
        guard let probe else { return }
        let now = Clocks.monoNanos()
        if !force && now - lastRSSSample < 100_000_000 { return }
        lastRSSSample = now
        peakRSS = max(peakRSS, probe.sample().rssKB)
    }
}
