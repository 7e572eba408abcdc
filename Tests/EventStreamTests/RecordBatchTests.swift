import Testing

@testable import EventStream

@Suite("Publishing bytes (RecordBatch)")
struct RecordBatchTests {
    private func batch(_ datas: [[UInt8]]) -> RecordBatch {
        var batch = RecordBatch()
        for data in datas { data.withUnsafeBytes { batch.append($0) } }
        return batch
    }

    @Test("the encoder writes the same bytes from a String and from its UTF-8")
    func encoderAgrees() {
        let id = EventID(millis: 1_732_233_600_000, sequence: 7)
        for data in ["", "x", "one line of some length", "a\nb", "a\r\nb", "a\rb", "x\n", "\r", "é ü 💡", String(repeating: "y", count: 5000)] {
            for type in ["message", "tick"] {
                let fromString = EventEncoder.encode(id: id, type: type, data: data)
                let fromBytes = Array(data.utf8).withUnsafeBytes { EventEncoder.encode(id: id, type: type, data: $0) }
                #expect(Array(fromBytes.bytes) == Array(fromString.bytes), "\(type) \(data.debugDescription)")
                #expect(fromBytes.bodyOffset == fromString.bodyOffset && fromBytes.bodyCount == fromString.bodyCount)
            }
        }
    }

    @Test("ids of every length are written digit for digit")
    func idDigits() {
        var values: [UInt64] = [0, 1, 9, 10, 11, 99, 100, 101, 999, 1000, 1_732_233_600_000, UInt64.max]
        var power: UInt64 = 1
        for _ in 0..<19 {
            power *= 10
            values += [power - 1, power, power + 1]
        }
        for millis in values {
            for sequence: UInt64 in [0, 7, 12345] {
                let id = EventID(millis: millis, sequence: sequence)
                let event = EventEncoder.encode(id: id, type: "message", data: "x")
                #expect(event.bodyString == "id: \(millis)-\(sequence)\ndata: x\n\n")
            }
        }
    }

    @Test("ASCII is kept as it is; invalid UTF-8 becomes U+FFFD, as in a String")
    func utf8() {
        let inputs: [[UInt8]] = [Array("plain ascii, longer than eight".utf8), Array("é".utf8), [0x61, 0xFF, 0x62], [0xC3], []]
        let hub = Hub(bufferSize: 10)
        let subscription = try! hub.subscribe(hub.group(0), to: ["b"], after: nil)
        _ = try? hub.publish(batch(inputs), to: "b")
        _ = hub.sync(hub.group(0))
        let window = subscription.windows[0]
        let bodies = (window.start..<window.end).map { window.event(at: $0).bodyString }
        #expect(bodies.count == inputs.count)
        for (body, input) in zip(bodies, inputs) {
            #expect(body.hasSuffix("\ndata: \(String(decoding: input, as: UTF8.self))\n\n"), "\(body.debugDescription)")
        }
    }

    @Test("a batch is published in order under rising ids, with the type given, and wakes the loop once")
    func publishBatch() throws {
        let hub = Hub(bufferSize: 100)
        let subscription = try! hub.subscribe(hub.group(0), to: ["c"], after: nil)
        try hub.publish([Event(data: "before")], to: "c")
        let ids = try hub.publish(batch((1...50).map { Array("line \($0)".utf8) }), type: "log", to: "c")
        #expect(ids.count == 50)
        #expect(zip(ids, ids.dropFirst()).allSatisfy { $0 < $1 })
        #expect(hub.lastID == ids.last)
        let updated = hub.sync(hub.group(0))
        #expect(updated.count == 1)
        let window = subscription.windows[0]
        #expect(window.end - window.start == 51)
        let last = window.event(at: window.end - 1)
        #expect(last.id == ids.last)
        #expect(last.bodyString == "id: \(ids.last!)\nevent: log\ndata: line 50\n\n")
        #expect(hub.channelInfos().first { $0.name == "c" }?.published == 51)
    }

    @Test("a bad channel or type is refused; an empty batch publishes nothing; a closed hub refuses")
    func refusals() {
        let hub = Hub(bufferSize: 10)
        #expect(throws: PublishError.invalidChannel("a b")) { try hub.publish(batch([[0x61]]), to: "a b") }
        #expect(throws: PublishError.invalidEventType("x\ny")) { try hub.publish(batch([[0x61]]), type: "x\ny", to: "a") }
        #expect((try? hub.publish(RecordBatch(), to: "a")) == [])
        hub.close()
        #expect(throws: PublishError.shuttingDown) { try hub.publish(batch([[0x61]]), to: "a") }
    }
}

@Suite("RecordBatch's ASCII scan")
struct RecordBatchASCIITests {
    @Test("a byte of 0x80 or above is found at every position of every length up to 100")
    func highByteAnywhere() {
        for length in 0...100 {
            var bytes = [UInt8](repeating: 0x41, count: length)
            #expect(bytes.withUnsafeBytes { RecordBatch.isASCII($0) })
            for position in 0..<length {
                bytes[position] = 0x80
                #expect(!bytes.withUnsafeBytes { RecordBatch.isASCII($0) }, "\(length) \(position)")
                bytes[position] = 0x41
            }
        }
    }
}
