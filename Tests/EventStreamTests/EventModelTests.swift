import XCTest

@testable import EventStream

final class EventModelTests: XCTestCase {
    func testIDsAreOrderedByTheirNumericGroups() {
        XCTAssertLessThan(EventID(parsing: "9-5")!, EventID(parsing: "10-0")!)
        XCTAssertLessThan(EventID(parsing: "10-2")!, EventID(parsing: "10-10")!)
        XCTAssertEqual(EventID(parsing: "7"), EventID(millis: 7, sequence: 0))
        XCTAssertEqual(EventID(parsing: "0"), .zero)
        for bad in ["", "-", "1-", "-1", "a", "1-2-3", "1.5", " 1", "99999999999999999999999", "1-x"] {
            XCTAssertNil(EventID(parsing: bad), bad)
        }
    }

    func testGeneratorRisesStrictlyEvenWhenTheClockStandsStillOrGoesBack() {
        var generator = EventIDGenerator()
        let a = generator.next(nowMillis: 100)
        let b = generator.next(nowMillis: 100)
        let c = generator.next(nowMillis: 90)
        let d = generator.next(nowMillis: 101)
        XCTAssertEqual([a, b, c, d].map(\.description), ["100-0", "100-1", "100-2", "101-0"])
    }

    func testChannelNames() {
        for good in ["a", "news", "a/b", "A.b_c-d~e", String(repeating: "x", count: 128)] { XCTAssertTrue(ChannelName.isValid(good), good) }
        for bad in ["", "/a", "a/", "a b", "a\nb", "é", String(repeating: "x", count: 129), "a?b"] { XCTAssertFalse(ChannelName.isValid(bad), bad) }
    }

    func testEncoderWritesIdTypeAndOneDataLinePerLine() {
        let event = EventEncoder.encode(id: EventID(millis: 5, sequence: 1), type: "tick", data: "a\nb\r\nc\rd")
        XCTAssertEqual(event.bodyString, "id: 5-1\nevent: tick\ndata: a\ndata: b\ndata: c\ndata: d\n\n")
        let bytes = String(decoding: UnsafeRawBufferPointer(event.bytes), as: UTF8.self)
        XCTAssertEqual(bytes, "\(String(event.bodyCount, radix: 16))\r\n" + event.bodyString + "\r\n")
    }

    func testEncoderLeavesOutTheDefaultTypeAndKeepsEmptyData() {
        XCTAssertEqual(EventEncoder.encode(id: .zero, type: "message", data: "").bodyString, "id: 0-0\ndata: \n\n")
        XCTAssertEqual(EventEncoder.encode(id: .zero, type: "message", data: "x\n").bodyString, "id: 0-0\ndata: x\ndata: \n\n")
        XCTAssertEqual(EventEncoder.encode(id: .zero, type: "message", data: " lead").bodyString, "id: 0-0\ndata:  lead\n\n")
    }

    func testGapNoticeHasNoID() {
        XCTAssertEqual(String(decoding: EventEncoder.block(type: "sse-gap", data: "{}"), as: UTF8.self), "event: sse-gap\ndata: {}\n\n")
    }

    func testRingBufferKeepsOrderAcrossGrowthAndWrap() {
        var ring = RingBuffer<Int>(initialCapacity: 2)
        for i in 0..<5 { ring.append(i) }
        ring.removeFirst(2)
        for i in 5..<12 { ring.append(i) }
        ring.prepend(1)
        XCTAssertEqual((0..<ring.count).map { ring[$0] }, [1] + Array(2..<12))
    }

    func testMemoryLogForgetsTheOldestAndFindsIDs() {
        let log = MemoryLog(capacity: 3)
        for i in 1...5 { log.append(EventEncoder.encode(id: EventID(millis: UInt64(i), sequence: 0), type: "message", data: "\(i)")) }
        let base = log.startSequence - 2
        XCTAssertEqual(log.endSequence - base, 5)
        XCTAssertEqual(log.lastDroppedID, EventID(millis: 2, sequence: 0))
        XCTAssertEqual(log.firstSequence(after: EventID(millis: 3, sequence: 0)) - base, 3)
        XCTAssertEqual(log.firstSequence(after: .zero) - base, 2)
        XCTAssertEqual(log.firstSequence(after: EventID(millis: 9, sequence: 0)) - base, 5)
    }

    func testHubReplaysAfterAnIDWithoutDuplicatesThenLive() throws {
        let hub = Hub(bufferSize: 10, groupCount: 1, clock: { 1000 })
        let ids = try hub.publish((1...4).map { Event(data: "e\($0)") }, to: "news")
        let group = hub.group(0)
        let subscription = try hub.subscribe(group, to: ["news"], after: ids[1])
        XCTAssertNil(subscription.gap)
        try hub.publish([Event(data: "e5")], to: "news")
        _ = hub.sync(group)
        let window = subscription.windows[0]
        let sent = (subscription.cursors[0]..<window.end).map { window.event(at: $0).bodyString }
        XCTAssertEqual(sent.map { $0.components(separatedBy: "data: ")[1] }, ["e3\n\n", "e4\n\n", "e5\n\n"])
    }

    func testHubAnnouncesAGapWhenTheIDIsOlderThanTheBuffer() throws {
        let hub = Hub(bufferSize: 2, groupCount: 1, clock: { 1000 })
        let ids = try hub.publish((1...5).map { Event(data: "e\($0)") }, to: "a")
        let subscription = try hub.subscribe(hub.group(0), to: ["a"], after: ids[0])
        XCTAssertNotNil(subscription.gap)
        XCTAssertEqual(subscription.cursors[0], subscription.windows[0].start)
        XCTAssertEqual(subscription.windows[0].end - subscription.cursors[0], 2)
        // `0` asks for everything buffered, without a notice.
        XCTAssertNil(try hub.subscribe(hub.group(0), to: ["a"], after: .zero).gap)
    }

    func testHubRefusesBadInputAndPublishingAfterClose() {
        let hub = Hub(bufferSize: 2)
        XCTAssertThrowsError(try hub.publish([Event(data: "x")], to: "bad name"))
        XCTAssertThrowsError(try hub.publish([Event(type: "a\nb", data: "x")], to: "ok"))
        hub.close()
        XCTAssertThrowsError(try hub.publish([Event(data: "x")], to: "ok")) { error in
            XCTAssertEqual(error as? PublishError, .shuttingDown)
        }
    }

    func testHubIDsRiseAcrossChannels() throws {
        let hub = Hub(bufferSize: 10)
        var all: [EventID] = []
        for i in 0..<50 { all += try hub.publish([Event(data: "x")], to: i % 2 == 0 ? "a" : "b") }
        XCTAssertEqual(all, all.sorted())
        XCTAssertEqual(Set(all).count, all.count)
    }
}

final class HubBudgetTests: XCTestCase {
    func testPublishingToOneChannelTooManyIsRefusedAndLeavesNoTrace() throws {
        let hub = Hub(bufferSize: 10, limits: HubLimits(maxChannels: 2))
        try hub.publish([Event(data: "a")], to: "a")
        try hub.publish([Event(data: "b")], to: "b")
        XCTAssertThrowsError(try hub.publish(routed: [("a", Event(data: "a2")), ("c", Event(data: "c"))])) { error in
            XCTAssertEqual(error as? PublishError, .tooManyChannels(2))
        }
        XCTAssertEqual(hub.channelInfos().map(\.name), ["a", "b"])
        XCTAssertEqual(hub.channelInfos().first?.published, 1)
        XCTAssertThrowsError(try hub.subscribe(hub.group(0), to: ["c"], after: nil))
        XCTAssertNoThrow(try hub.subscribe(hub.group(0), to: ["a"], after: nil))
    }

    func testOverTheMemoryBudgetTheLargestChannelsForgetTheirOldestFirst() throws {
        let hub = Hub(bufferSize: 10_000, limits: HubLimits(maxMemory: 1 << 16))
        let big = String(repeating: "x", count: 1000)
        for _ in 0..<100 { try hub.publish([Event(data: big)], to: "big") }
        try hub.publish([Event(data: "small")], to: "small")
        XCTAssertLessThanOrEqual(hub.bufferedBytes, 1 << 16)
        XCTAssertGreaterThan(hub.evictedEvents, 0)
        let infos = Dictionary(uniqueKeysWithValues: hub.channelInfos().map { ($0.name, $0) })
        XCTAssertEqual(infos["small"]?.buffered, 1)
        XCTAssertLessThan(infos["big"]?.buffered ?? 100, 100)
        // A replay from the start of the big channel is told what it lost.
        let subscription = try hub.subscribe(hub.group(0), to: ["big"], after: EventID(millis: 1, sequence: 0), lastEventID: "1")
        XCTAssertTrue(subscription.gap?.contains("\"lastEventId\":\"1\"") == true, subscription.gap ?? "no gap")
    }

    func testPresenceChannelsCannotBePublishedTo() {
        let hub = Hub(bufferSize: 10)
        XCTAssertThrowsError(try hub.publish([Event(data: "x")], to: "presence/room")) { error in
            XCTAssertEqual(error as? PublishError, .reservedChannel("presence/room"))
        }
    }

    func testEventsNumberedElsewhereAreTakenInOnceAndInOrder() throws {
        let hub = Hub(bufferSize: 10)
        let group = hub.group(0)
        let subscription = try hub.subscribe(group, to: ["a"], after: nil)
        let events = (1...3).map { NumberedEvent(id: EventID(millis: 5, sequence: UInt64($0)), channel: "a", type: "message", data: "e\($0)") }
        hub.ingest(events)
        hub.ingest(Array(events[1...]))
        _ = hub.sync(group)
        let window = subscription.windows[0]
        XCTAssertEqual((subscription.cursors[0]..<window.end).map { window.event(at: $0).id.sequence }, [1, 2, 3])
        XCTAssertEqual(hub.lastID, EventID(millis: 5, sequence: 3))
    }

    func testAStoreAnswersTheAsynchronousPublish() throws {
        final class RefusingStore: EventStore, @unchecked Sendable {
            func append(_ batch: [RoutedEvent], done: @escaping @Sendable (Result<[EventID], PublishError>) -> Void) {
                done(.failure(.unavailable("down")))
            }
            func history(channel: String, after id: EventID, limit: Int, done: @escaping @Sendable (Result<StoreHistory, PublishError>) -> Void) {
                done(.success(StoreHistory(events: [], complete: true)))
            }
            var unavailableReason: String? { "down" }
        }
        let hub = Hub(bufferSize: 10, store: RefusingStore())
        XCTAssertThrowsError(try hub.publish([Event(data: "x")], to: "a")) { error in
            XCTAssertEqual(error as? PublishError, .unavailable("down"))
        }
        XCTAssertEqual(hub.channelCount, 0)
    }
}
