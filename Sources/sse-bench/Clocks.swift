import Glibc

/// The two clocks the bench reads: wall time (shared by publisher and subscribers) and monotonic time.
enum Clocks {
    /// CLOCK_REALTIME nanoseconds: the publisher stamps events with it and every process on the
    /// machine reads the same clock, so delivery latency can be measured across processes.
    @inline(__always)
    static func wallNanos() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) &* 1_000_000_000 &+ Int64(ts.tv_nsec)
    }

    /// CLOCK_MONOTONIC nanoseconds, for deadlines and rates.
    @inline(__always)
    static func monoNanos() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Int64(ts.tv_sec) &* 1_000_000_000 &+ Int64(ts.tv_nsec)
    }
}
