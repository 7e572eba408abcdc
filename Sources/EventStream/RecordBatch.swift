/// The data of many events in one byte buffer: what a source's `line` format
/// hands the hub (`Hub.publish(_:type:to:)`) without a `String` per event.
///
/// Reused from one read to the next: `removeAll` keeps the memory.
public struct RecordBatch: Sendable {
    private var bytes: [UInt8] = []
    /// Where each event's data ends in `bytes`; it starts where the previous one ended.
    private var ends: [Int] = []

    public init() {}

    public var count: Int { ends.count }
    public var isEmpty: Bool { ends.isEmpty }
    /// The data's bytes, all events together.
    public var byteCount: Int { bytes.count }

    /// Adds one event's data. Invalid UTF-8 becomes U+FFFD, as it would in a
    /// `String`; ASCII, the common case, is copied as it is after one scan.
    public mutating func append(_ data: UnsafeRawBufferPointer) {
        if Self.isASCII(data) {
            bytes.append(contentsOf: data)
        } else {
            bytes.append(contentsOf: String(decoding: data, as: UTF8.self).utf8)
        }
        ends.append(bytes.count)
    }

    /// Empties the batch; big buffers (an unusually long record) are let go.
    public mutating func removeAll() {
        bytes.removeAll(keepingCapacity: bytes.capacity <= 4 << 20)
        ends.removeAll(keepingCapacity: ends.capacity <= 1 << 16)
    }

    /// The events as a store takes them (with a `String` each: the store's
    /// round trip costs far more).
    func routed(type: String, to channel: String) -> [RoutedEvent] {
        withData { data in
            (0..<count).map { RoutedEvent(channel: channel, event: Event(type: type, data: String(decoding: data($0), as: UTF8.self))) }
        }
    }

    /// Calls `body` with a way to read event `i`'s data (valid during the call only).
    @inline(__always)
    func withData<R>(_ body: ((Int) -> UnsafeRawBufferPointer) -> R) -> R {
        bytes.withUnsafeBytes { raw in
            ends.withUnsafeBufferPointer { ends in
                body { i in
                    let start = i == 0 ? 0 : ends[i - 1]
                    return UnsafeRawBufferPointer(rebasing: raw[start..<ends[i]])
                }
            }
        }
    }

    /// True when every byte is below 0x80, looked at 32, then eight at a time.
    @inline(__always)
    static func isASCII(_ data: UnsafeRawBufferPointer) -> Bool {
        guard let base = data.baseAddress else { return true }
        let n = data.count
        var i = 0
        var high: UInt64 = 0
        // Four words per turn: a line is scanned in a few turns, not one per eight bytes.
        while i + 32 <= n {
            high |= base.loadUnaligned(fromByteOffset: i, as: UInt64.self) | base.loadUnaligned(fromByteOffset: i + 8, as: UInt64.self)
                | base.loadUnaligned(fromByteOffset: i + 16, as: UInt64.self) | base.loadUnaligned(fromByteOffset: i + 24, as: UInt64.self)
            i += 32
        }
        while i + 8 <= n {
            high |= base.loadUnaligned(fromByteOffset: i, as: UInt64.self)
            i += 8
        }
        while i < n {
            high |= UInt64(base.load(fromByteOffset: i, as: UInt8.self))
            i += 1
        }
        return high & 0x8080_8080_8080_8080 == 0
    }
}
