import EventStream
import Foundation
import RESP
import Reactor
import TestKit
import XCTest

@testable import RedisBackend

final class RedisStoreTests: XCTestCase {
    /// A hub on its own loop with a store on `server`, whose feed goes into the
    /// hub and into `fed`, so the test can wait for it.
    private final class Node {
        let loopThread: LoopThread
        let store: RedisStore
        let hub: Hub
        let fed = Inbox<[NumberedEvent]>()
        let availability = Inbox<String?>()

        init(_ server: RedisServer, publishTimeoutMillis: UInt64 = 1_000) throws {
            loopThread = try LoopThread()
            var configuration = RedisStore.Configuration(url: server.url)
            configuration.publishTimeoutMillis = publishTimeoutMillis
            configuration.blockMillis = 200
            configuration.client.minBackoffNanos = 20_000_000
            configuration.client.maxBackoffNanos = 200_000_000
            configuration.client.connectTimeoutNanos = 500_000_000
            store = try RedisStore(configuration: configuration, loop: loopThread.loop)
            let hub = Hub(bufferSize: 100, store: store)
            self.hub = hub
            let fed = self.fed
            let availability = self.availability
            try loopThread.sync { [store] in
                store.onEvents = { events in
                    hub.ingest(events)
                    fed.put(events)
                }
                store.onAvailabilityChange = { availability.put($0) }
            }
            store.start(from: .zero)
            try availability.next(where: { $0 == nil })
        }

        func publish(_ batch: [RoutedEvent]) throws -> Result<[EventID], PublishError> {
            let answer = Inbox<Result<[EventID], PublishError>>()
            hub.submit(batch) { answer.put($0) }
            return try answer.next()
        }

        /// Waits until the feed has brought `id`.
        func waitFed(through id: EventID) throws {
            try fed.next(where: { ($0.last?.id ?? .zero) >= id })
        }

        func stop() {
            store.stop()
            _ = try? loopThread.sync {}
            loopThread.stop()
        }
    }

    func testTwoHubsOnOneRedisBothReceiveWhatEitherPublishes() throws {
        let server = try RedisServer()
        let a = try Node(server)
        let b = try Node(server)
        defer {
            a.stop()
            b.stop()
        }
        let fromA = try a.publish([RoutedEvent(channel: "news", event: Event(type: "message", data: "from a"))]).get()
        let fromB = try b.publish([
            RoutedEvent(channel: "news", event: Event(type: "message", data: "from b")),
            RoutedEvent(channel: "sport", event: Event(type: "goal", data: "1-0")),
        ]).get()
        XCTAssertTrue(fromA[0] < fromB[0] && fromB[0] < fromB[1])
        for node in [a, b] {
            try node.waitFed(through: fromB[1])
            let channels = Dictionary(uniqueKeysWithValues: node.hub.channelInfos().map { ($0.name, $0) })
            XCTAssertEqual(channels["news"]?.lastID, fromB[0])
            XCTAssertEqual(channels["news"]?.buffered, 2)
            XCTAssertEqual(channels["sport"]?.lastID, fromB[1])
            XCTAssertEqual(node.hub.lastID, fromB[1])
        }
        // The store also answers history for a replay from before the cache.
        let history = Inbox<Result<StoreHistory, PublishError>>()
        b.store.history(channel: "news", after: .zero, limit: 10) { history.put($0) }
        XCTAssertEqual(try history.next().get().events.map(\.data), ["from a", "from b"])
    }

    func testPublishingWhileRedisIsStoppedIsRefusedQuicklyAndNothingIsDeliveredLater() throws {
        let server = try RedisServer()
        let a = try Node(server, publishTimeoutMillis: 300)
        defer { a.stop() }
        server.pause()
        let started = Date()
        let refused = try a.publish([RoutedEvent(channel: "news", event: Event(type: "message", data: "lost"))])
        guard case .failure(.unavailable) = refused else { return XCTFail("\(refused)") }
        XCTAssertLessThan(Date().timeIntervalSince(started), 10, "refused after the publish timeout, not left hanging")
        server.resume()
        try a.availability.next(where: { $0 == nil })
        let kept = try a.publish([RoutedEvent(channel: "news", event: Event(type: "message", data: "kept"))]).get()
        try a.waitFed(through: kept[0])
        // The refused event was dropped by Redis (its deadline had passed), not appended late.
        let stored = try server.command(["XRANGE", "sse:log", "-", "+"]).array ?? []
        XCTAssertEqual(stored.count, 1)
        XCTAssertEqual(a.fed.all.flatMap { $0 }.map(\.data), ["kept"])
    }
}
