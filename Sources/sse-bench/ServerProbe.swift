import Glibc

/// Reads the server's resource use from /proc: CPU time (utime+stime of the process and its
/// direct children, so nginx's master and workers count together) and memory (VmRSS, VmHWM, and
/// Pss, which shares each shared page among the processes that map it).
struct ServerProbe {
    /// One reading of the server's processes, summed.
    struct Sample {
        var cpuSeconds: Double = 0
        var rssKB: Int = 0
        var hwmKB: Int = 0
        var pssKB: Int = 0
    }

    let pids: [Int32]

    /// `pid` and its children at the time of the call.
    init?(pid: Int32) { self.init(pids: [pid]) }

    /// Several servers summed (two nodes, or a node and its Redis), each with its children.
    init?(pids roots: [Int32]) {
        guard !roots.isEmpty else { return nil }
        for pid in roots { guard pid > 0, access("/proc/\(pid)/stat", R_OK) == 0 else { return nil } }
        var all = roots
        if let dir = opendir("/proc") {
            while let entry = readdir(dir) {
                let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                    String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
                }
                guard let child = Int32(name), !roots.contains(child) else { continue }
                if let fields = Self.statFields(child), fields.count > 1, let parent = Int32(fields[1]), roots.contains(parent) {
                    all.append(child)
                }
            }
            closedir(dir)
        }
        pids = all
    }

    func sample(withPss: Bool = false) -> Sample {
        var s = Sample()
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        for pid in pids {
            if let f = Self.statFields(pid), f.count > 12, let u = Double(f[11]), let k = Double(f[12]) {
                s.cpuSeconds += (u + k) / ticks
            }
            if let status = Self.readFile("/proc/\(pid)/status") {
                s.rssKB += Self.kilobytes(status, "VmRSS:")
                s.hwmKB += Self.kilobytes(status, "VmHWM:")
            }
            if withPss, let rollup = Self.readFile("/proc/\(pid)/smaps_rollup") {
                s.pssKB += Self.kilobytes(rollup, "Pss:")
            }
        }
        return s
    }

    /// The fields of /proc/PID/stat after the command name (which may contain spaces):
    /// [0] state, [1] ppid, … [11] utime, [12] stime.
    static func statFields(_ pid: Int32) -> [Substring]? {
        guard let text = readFile("/proc/\(pid)/stat"), let close = text.lastIndex(of: ")") else { return nil }
        return text[text.index(after: close)...].split(separator: " ")
    }

    static func kilobytes(_ text: String, _ key: String) -> Int {
        for line in text.split(separator: "\n") where line.hasPrefix(key) {
            let value = line.dropFirst(key.count).split(whereSeparator: { $0 == " " || $0 == "\t" })
            return Int(value.first ?? "") ?? 0
        }
        return 0
    }

    /// A small /proc file's text (no Foundation here).
    static func readFile(_ path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 8192)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, 8192) }
            if n <= 0 { break }
            out += chunk[0..<n]
        }
        return String(decoding: out, as: UTF8.self)
    }
}

/// The bench's own CPU time: this process plus every worker it has reaped.
enum OwnUsage {
    static func cpuSeconds() -> Double {
        func seconds(_ who: Int32) -> Double {
            var ru = rusage()
            getrusage(__rusage_who_t(who), &ru)
            return Double(ru.ru_utime.tv_sec) + Double(ru.ru_utime.tv_usec) / 1e6
                + Double(ru.ru_stime.tv_sec) + Double(ru.ru_stime.tv_usec) / 1e6
        }
        return seconds(RUSAGE_SELF.rawValue) + seconds(RUSAGE_CHILDREN.rawValue)
    }
}
