import Glibc

/// What the machine allows this process: descriptors, memory and cores.
enum ResourceLimits {
    /// The soft open-file limit, raised to the hard limit where allowed.
    static func openFiles() -> Int {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 1024 }
        if limit.rlim_cur < limit.rlim_max {
            var raised = limit
            raised.rlim_cur = limit.rlim_max
            if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &raised) == 0 { limit = raised }
        }
        return Int(min(limit.rlim_cur, 1 << 20))
    }

    /// Bytes of physical memory, or 0 when unknown.
    static func physicalMemory() -> Int {
        let pages = sysconf(Int32(_SC_PHYS_PAGES))
        let size = sysconf(Int32(_SC_PAGESIZE))
        return pages > 0 && size > 0 ? pages * size : 0
    }

    static func cores() -> Int { Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))) }
}
