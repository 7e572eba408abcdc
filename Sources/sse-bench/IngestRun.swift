import Glibc

/// Scenario S5: one subscriber is connected, then this process writes N lines into a FIFO that is
/// the server's standard input (`sse-serve --buffer N stdin@CHANNEL < FIFO`), and waits until the
/// subscriber has every line as an event. Each line is the bench payload, stamped when its batch
/// is written, so latency is measured too.
struct IngestRun {
    /// Where to write and subscribe, and how much.
    struct Settings {
        var server = "sse-serve"
        var subscribeURL = ""
        var fifo = ""
        var lines = 1_000_000
        var eventBytes = 100
        var serverPid: Int32 = 0
        var timeout = 120.0
    }

    let settings: Settings

    func run() throws(BenchError) -> Report {
        let s = settings
        let sub = try Target(s.subscribeURL, channel: "stdin")
        let probe = s.serverPid > 0 ? ServerProbe(pid: s.serverPid) : nil
        let before = probe?.sample()
        let wallStart = Clocks.monoNanos()
        let worker = try WorkerProcess(arguments: [
            "worker", "--url", sub.description, "--count", "1", "--source-base", "0", "--max-pending", "1",
            "--connect-timeout-ms", "10000", "--hard-deadline-ms", "\(Int((s.timeout + 20) * 1000))",
        ])
        defer { worker.finish() }
        guard let readyLine = worker.readLine(deadline: Clocks.monoNanos() + 15_000_000_000) else {
            throw .failed("the subscriber never reported ready")
        }
        guard WorkerLine(readyLine).int("ok") == 1 else { throw .failed("the subscriber could not connect: \(readyLine)") }

        // O_WRONLY on a FIFO blocks until a reader has it open: the server has had it since start.
        let fd = open(s.fifo, O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .system("open(\(s.fifo))", errno) }
        // Lines are put together from bytes (no String per line), so that the writer is never
        // what limits the rate: at millions of lines a second every 100 ns per line would show.
        // Copied into one raw buffer (not appended to an array, which cost ~600 instructions a
        // line in retains and uniqueness checks: a third of what the server spends on it).
        let padding = [UInt8](repeating: UInt8(ascii: "x"), count: max(s.eventBytes - 48, 0))
        let middle = Array(",\"seq\":".utf8)
        let tail = Array(",\"pad\":\"".utf8) + padding + Array("\"}\n".utf8)
        let perBatch = 1000
        let batch = UnsafeMutableRawBufferPointer.allocate(byteCount: perBatch * (32 + middle.count + 20 + tail.count), alignment: 8)
        defer { batch.deallocate() }
        let start = Clocks.monoNanos()
        var seq = 1
        while seq <= s.lines {
            let head = Array("{\"t\":\(Clocks.wallNanos())".utf8)
            let upTo = min(seq + perBatch, s.lines + 1)
            var n = 0
            head.withUnsafeBytes { head in
                middle.withUnsafeBytes { middle in
                    tail.withUnsafeBytes { tail in
                        while seq < upTo {
                            Self.copy(head, into: batch, at: &n)
                            Self.copy(middle, into: batch, at: &n)
                            Self.writeDecimal(seq, into: batch, at: &n)
                            Self.copy(tail, into: batch, at: &n)
                            seq += 1
                        }
                    }
                }
            }
            // A blocking write into the pipe: the server's reading speed paces us.
            if !Sockets.writeAll(fd, UnsafeRawBufferPointer(rebasing: batch[0..<n])) {
                close(fd)
                throw .system("write(\(s.fifo))", errno)
            }
        }
        let writeSeconds = Double(Clocks.monoNanos() - start) / 1e9
        close(fd)
        worker.send("done \(s.lines) \(Int(s.timeout * 1000))")
        let result = worker.readLine(deadline: Clocks.monoNanos() + Int64((s.timeout + 5) * 1e9)).map(WorkerLine.init)
        let seconds = Double(Clocks.monoNanos() - start) / 1e9
        let end = probe?.sample()
        worker.finish()
        var hist = Histogram()
        if let h = result?.values["hist"] { hist.merge(encoded: h) }
        hist.merge(max: result?.int("max_us") ?? 0)
        let delivered = result?.int("delivered") ?? 0

        var r = Report()
        r.add("scenario", .text("S5"))
        r.add("server", .text(s.server))
        r.add("lines", .int(Int64(s.lines)))
        r.add("delivered", .int(delivered))
        r.add("missing", .int(Int64(s.lines) - delivered))
        r.add("out_of_order", .int(result?.int("out_of_order") ?? 0))
        r.add("write_s", .number(writeSeconds, decimals: 3), "until the FIFO took the last line")
        r.add("end_to_end_s", .number(seconds, decimals: 3), "first line written → last event read")
        r.add("lines_per_s", .number(Double(delivered) / max(seconds, 1e-9), decimals: 0), "end to end")
        r.add("lat_p50_ms", .number(hist.percentile(0.50) / 1000, decimals: 3))
        r.add("lat_p99_ms", .number(hist.percentile(0.99) / 1000, decimals: 3))
        r.add("lat_max_ms", .number(Double(hist.maxMicros) / 1000, decimals: 3))
        if let before, let end {
            r.add("server_cpu_s", .number(end.cpuSeconds - before.cpuSeconds, decimals: 3))
            r.add("server_rss_final_kb", .int(Int64(end.rssKB)))
        }
        let benchCPU = OwnUsage.cpuSeconds()
        r.add("bench_cpu_s", .number(benchCPU, decimals: 3), "all bench processes")
        r.add("bench_cpu_pct", .number(benchCPU * 100 / max(Double(Clocks.monoNanos() - wallStart) / 1e9, 1e-9), decimals: 1))
        r.add("ok", .flag(delivered == Int64(s.lines)), "every line delivered")
        return r
    }

    @inline(__always)
    private static func copy(_ bytes: UnsafeRawBufferPointer, into out: UnsafeMutableRawBufferPointer, at n: inout Int) {
        (out.baseAddress! + n).copyMemory(from: bytes.baseAddress!, byteCount: bytes.count)
        n += bytes.count
    }

    /// `value` (positive) in decimal.
    @inline(__always)
    private static func writeDecimal(_ value: Int, into out: UnsafeMutableRawBufferPointer, at n: inout Int) {
        var digits = 1
        var v = value / 10
        while v > 0 {
            digits += 1
            v /= 10
        }
        v = value
        var k = n + digits
        repeat {
            k -= 1
            out[k] = UInt8(0x30 + v % 10)
            v /= 10
        } while v > 0
        n += digits
    }
}
