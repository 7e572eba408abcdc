/// Encodes the events of one `RecordBatch`: they share a type, and most share
/// the millisecond of their ids, so the `event:` line and the id's millisecond
/// digits are written once and copied into each event. The bytes are those of
/// `EventEncoder.encode`, byte for byte; data of several lines goes there.
struct BatchEventEncoder {
    let type: String
    /// `event: TYPE\n`, or nothing for `message`.
    private let typeLine: [UInt8]
    /// `id: MILLIS-` for `millis`; empty until the first event.
    private var idPrefix: [UInt8] = []
    private var millis: UInt64 = 0

    init(type: String) {
        self.type = type
        typeLine = type == "message" ? [] : Array("event: \(type)\n".utf8)
        idPrefix.reserveCapacity(32)
    }

    mutating func encode(id: EventID, data: UnsafeRawBufferPointer) -> WireEvent {
        let dataBytes = data.assumingMemoryBound(to: UInt8.self)
        guard EventEncoder.isOneLine(dataBytes) else { return EventEncoder.encode(id: id, type: type, data: data) }
        if idPrefix.isEmpty || id.millis != millis { setMillis(id.millis) }
        let bodyCount = idPrefix.count + EventEncoder.decimalDigits(id.sequence) + 1 + typeLine.count + 6 + dataBytes.count + 2
        let prefixCount = EventEncoder.hexDigits(bodyCount) + 2
        return idPrefix.withUnsafeBufferPointer { idPrefix in
            typeLine.withUnsafeBufferPointer { typeLine in
                WireEvent.make(id: id, type: type, capacity: prefixCount + bodyCount + 2) { out in
                    var w = EventEncoder.Writer(out)
                    w.chunkHead(bodyCount)
                    w.bytes(idPrefix)
                    w.decimal(id.sequence)
                    w.byte(0x0A)
                    w.bytes(typeLine)
                    w.ascii("data: ")
                    w.bytes(dataBytes)
                    w.ascii("\n\n\r\n")
                    return (prefixCount, bodyCount, w.offset)
                }
            }
        }
    }

    private mutating func setMillis(_ value: UInt64) {
        millis = value
        let digits = EventEncoder.decimalDigits(value)
        idPrefix.removeAll(keepingCapacity: true)
        idPrefix.append(contentsOf: "id: ".utf8)
        idPrefix.append(contentsOf: repeatElement(0, count: digits))
        idPrefix.withUnsafeMutableBytes { out in
            var w = EventEncoder.Writer(UnsafeMutableRawBufferPointer(rebasing: out[4...]))
            w.decimal(value)
        }
        idPrefix.append(0x2D)
    }
}
