import Testing

@testable import EventStream

@Suite("Encoding a batch's events (BatchEventEncoder)")
struct BatchEventEncoderTests {
    @Test("every event's bytes are those of EventEncoder, across milliseconds, digit counts and types")
    func agreesWithEventEncoder() {
        let datas = ["", "x", "one line of some length", "a\nb", "a\r\nb", "a\rb", "x\n", "\r", "é ü 💡", String(repeating: "y", count: 5000)]
        let ids: [EventID] = [
            EventID(millis: 1_732_233_600_000, sequence: 0), EventID(millis: 1_732_233_600_000, sequence: 9),
            EventID(millis: 1_732_233_600_000, sequence: 10), EventID(millis: 1_732_233_600_001, sequence: 0),
            EventID(millis: 1_732_233_600_001, sequence: 123_456), EventID(millis: 99_999, sequence: 1),
            EventID(millis: 100_000, sequence: 1), EventID(millis: 0, sequence: 0), EventID(millis: UInt64.max, sequence: UInt64.max),
        ]
        for type in ["message", "tick"] {
            var encoder = BatchEventEncoder(type: type)
            for id in ids {
                for data in datas {
                    let expected = EventEncoder.encode(id: id, type: type, data: data)
                    let event = Array(data.utf8).withUnsafeBytes { encoder.encode(id: id, data: $0) }
                    #expect(Array(event.bytes) == Array(expected.bytes), "\(type) \(id) \(data.debugDescription)")
                    #expect(event.bodyOffset == expected.bodyOffset && event.bodyCount == expected.bodyCount)
                    #expect(event.id == id && event.type == type)
                }
            }
        }
    }
}

@Suite("Chunk sizes in hex")
struct ChunkSizeTests {
    @Test("every size is written as lower-case hex")
    func hexSizes() {
        var sizes = Array(0...4200)
        var power = 1
        for _ in 0..<62 {
            power <<= 1
            sizes += [power - 1, power, power + 1]
        }
        sizes.append(Int.max)
        for size in sizes {
            #expect(ChunkFraming.head(size) == Array((String(size, radix: 16) + "\r\n").utf8), "\(size)")
        }
    }
}
