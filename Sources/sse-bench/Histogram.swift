/// A latency histogram in microseconds with ~3% resolution (32 sub-buckets per power of two),
/// fixed size, mergeable across processes and cheap to record into.
struct Histogram {
    private static let subBits = 5
    private static let linear = 64  // values below this are exact
    static let bucketCount = 64 + 40 * 32

    private(set) var counts = [UInt64](repeating: 0, count: bucketCount)
    private(set) var total: UInt64 = 0
    private(set) var maxMicros: Int64 = 0

    @inline(__always)
    static func bucket(_ micros: Int64) -> Int {
        if micros < Int64(linear) { return Int(max(micros, 0)) }
        let msb = 63 - micros.leadingZeroBitCount
        let shift = msb - subBits
        let idx = linear + (msb - 6) * 32 + Int(micros >> Int64(shift)) - 32
        return min(idx, bucketCount - 1)
    }

    /// The middle of a bucket, in microseconds.
    static func value(ofBucket idx: Int) -> Double {
        if idx < linear { return Double(idx) }
        let k = idx - linear
        let msb = k / 32 + 6
        let shift = msb - subBits
        let lo = Int64(32 + k % 32) << Int64(shift)
        return Double(lo) + Double(Int64(1) << Int64(shift)) / 2
    }

    @inline(__always)
    mutating func record(micros: Int64) {
        counts[Self.bucket(micros)] &+= 1
        total &+= 1
        if micros > maxMicros { maxMicros = micros }
    }

    mutating func add(bucket: Int, count: UInt64) {
        guard bucket >= 0 && bucket < Self.bucketCount else { return }
        counts[bucket] &+= count
        total &+= count
    }

    mutating func merge(max: Int64) { if max > maxMicros { maxMicros = max } }

    /// The value below which `fraction` of the samples lie, in microseconds (0 when empty).
    func percentile(_ fraction: Double) -> Double {
        guard total > 0 else { return 0 }
        let rank = UInt64((Double(total) * fraction).rounded(.up))
        var seen: UInt64 = 0
        for (i, c) in counts.enumerated() where c > 0 {
            seen += c
            if seen >= max(rank, 1) { return min(Self.value(ofBucket: i), Double(maxMicros)) }
        }
        return Double(maxMicros)
    }

    /// `idx:count,…` for the non-empty buckets, the form workers send over their pipe.
    var encoded: String {
        var parts: [String] = []
        for (i, c) in counts.enumerated() where c > 0 { parts.append("\(i):\(c)") }
        return parts.isEmpty ? "-" : parts.joined(separator: ",")
    }

    mutating func merge(encoded text: Substring) {
        guard text != "-" else { return }
        for pair in text.split(separator: ",") {
            let kv = pair.split(separator: ":")
            if kv.count == 2, let i = Int(kv[0]), let c = UInt64(kv[1]) { add(bucket: i, count: c) }
        }
    }
}
