import EventStream
import Foundation
import Synchronization
import XCTest

@testable import Presence

/// A clock the test turns by hand, and a record of what the registry said.
final class RegistryProbe: Sendable {
    let nanos = Mutex<UInt64>(1_000_000_000)
    let events = Mutex<[PresenceEvent]>([])

    func advance(seconds: Double) { nanos.withLock { $0 += UInt64(seconds * 1e9) } }
    var now: UInt64 { nanos.withLock { $0 } }

    func makeRegistry(grace: Double = 5) -> PresenceRegistry {
        PresenceRegistry(leaveGrace: grace, clock: { [self] in now }, output: { [self] event in events.withLock { $0.append(event) } })
    }

    /// What was said since the last call.
    func take() -> [PresenceEvent] { events.withLock { let taken = $0; $0 = []; return taken } }
}

private func webhook(_ name: WebhookEvent.Name, _ channel: String, _ user: String? = nil) -> PresenceEvent {
    .webhook(WebhookEvent(name, channel: channel, user: user))
}

private func snapshotObject(_ text: String) throws -> [String: Any] {
    try XCTUnwrap(JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
}

final class PresenceRegistryTests: XCTestCase {
    func testAUsersFirstConnectionJoinsAndTheLastLeavesAfterTheGrace() {
        let probe = RegistryProbe()
        let registry = probe.makeRegistry(grace: 5)
        registry.join(channel: "room", user: "alice", info: #"{"name":"Alice"}"#)
        XCTAssertEqual(probe.take(), [
            webhook(.channelOccupied, "room"),
            .join(channel: "room", user: "alice", info: #"{"name":"Alice"}"#),
            webhook(.memberAdded, "room", "alice"),
        ])
        registry.join(channel: "room", user: "alice", info: nil)
        registry.leave(channel: "room", user: "alice")
        XCTAssertEqual(probe.take(), [], "a second connection, and closing one of two, say nothing")
        registry.leave(channel: "room", user: "alice")
        probe.advance(seconds: 4.9)
        registry.tick()
        XCTAssertEqual(probe.take(), [], "still within the grace")
        probe.advance(seconds: 0.1)
        registry.tick()
        XCTAssertEqual(probe.take(), [
            .leave(channel: "room", user: "alice", info: #"{"name":"Alice"}"#),
            webhook(.memberRemoved, "room", "alice"),
            webhook(.channelVacated, "room"),
        ])
        registry.tick()
        XCTAssertEqual(probe.take(), [])
        XCTAssertEqual(registry.counts(), [])
    }

    func testAReconnectWithinTheGraceMakesNoLeaveOrJoin() {
        let probe = RegistryProbe()
        let registry = probe.makeRegistry(grace: 5)
        registry.join(channel: "room", user: "bob", info: nil)
        _ = probe.take()
        registry.leave(channel: "room", user: "bob")
        probe.advance(seconds: 3)
        registry.tick()
        registry.join(channel: "room", user: "bob", info: nil)
        probe.advance(seconds: 10)
        registry.tick()
        XCTAssertEqual(probe.take(), [], "no leave/join pair and no vacated/occupied pair")
        XCTAssertEqual(registry.counts(), [PresenceCount(channel: "room", connections: 1, users: 1)])
        // The grace starts again from the last close.
        registry.leave(channel: "room", user: "bob")
        probe.advance(seconds: 5)
        registry.tick()
        XCTAssertEqual(probe.take(), [.leave(channel: "room", user: "bob", info: nil), webhook(.memberRemoved, "room", "bob"), webhook(.channelVacated, "room")])
    }

    func testAnonymousConnectionsCountOnlyAsConnections() throws {
        let probe = RegistryProbe()
        let registry = probe.makeRegistry(grace: 1)
        registry.join(channel: "news", user: nil, info: nil)
        registry.join(channel: "news", user: nil, info: nil)
        registry.join(channel: "news", user: "carol", info: nil)
        XCTAssertEqual(probe.take(), [
            webhook(.channelOccupied, "news"), .join(channel: "news", user: "carol", info: nil), webhook(.memberAdded, "news", "carol"),
        ])
        let snapshot = try snapshotObject(registry.snapshot("news"))
        XCTAssertEqual(snapshot["connections"] as? Int, 3)
        XCTAssertEqual((snapshot["users"] as? [[String: Any]])?.count, 1)
        registry.leave(channel: "news", user: "carol")
        registry.leave(channel: "news", user: nil)
        probe.advance(seconds: 2)
        registry.tick()
        XCTAssertEqual(probe.take(), [.leave(channel: "news", user: "carol", info: nil), webhook(.memberRemoved, "news", "carol")])
        registry.leave(channel: "news", user: nil)
        probe.advance(seconds: 2)
        registry.tick()
        XCTAssertEqual(probe.take(), [webhook(.channelVacated, "news")])
    }

    func testCountsStayRightWhateverTheOrder() {
        let probe = RegistryProbe()
        let registry = probe.makeRegistry(grace: 0)
        // A close the registry never saw open changes nothing.
        registry.leave(channel: "x", user: "ghost")
        registry.join(channel: "x", user: "a", info: nil)
        registry.leave(channel: "x", user: "ghost")
        registry.leave(channel: "x", user: nil)
        XCTAssertEqual(registry.counts(), [PresenceCount(channel: "x", connections: 0, users: 1)])
        registry.join(channel: "x", user: "a", info: nil)
        XCTAssertEqual(registry.counts(), [PresenceCount(channel: "x", connections: 1, users: 1)])
        // Many threads joining and leaving: the figures settle exactly.
        DispatchQueue.concurrentPerform(iterations: 8) { worker in
            for i in 0..<500 {
                let user = "u\((worker * 7 + i) % 13)"
                registry.join(channel: "x", user: user, info: nil)
                if i % 3 != 0 { registry.leave(channel: "x", user: user) }
            }
        }
        let joinedPerWorker = (0..<500).filter { $0 % 3 == 0 }.count
        let counts = registry.counts()
        XCTAssertEqual(counts.first?.connections, 1 + 8 * joinedPerWorker)
        registry.tick()
        var members = Set<String>()
        for event in probe.take() {
            if case .join(_, let user, _) = event { XCTAssertTrue(members.insert(user).inserted, "one join per user at a time") }
            if case .leave(_, let user, _) = event { XCTAssertNotNil(members.remove(user)) }
        }
        XCTAssertEqual(members.count, counts.first?.users)
    }

    func testTheSnapshotListsUsersWithInfoConnectionsAndTheGraceOnes() throws {
        let probe = RegistryProbe()
        let registry = PresenceRegistry(
            leaveGrace: 5, clock: { [probe] in probe.now }, lastEventID: { $0 == "presence/room" ? EventID(millis: 17, sequence: 2) : nil },
            output: { _ in })
        registry.join(channel: "room", user: "zed", info: #"{"n":1}"#)
        registry.join(channel: "room", user: "amy", info: nil)
        registry.join(channel: "room", user: "amy", info: nil)
        registry.join(channel: "room", user: "gus", info: nil)
        registry.leave(channel: "room", user: "gus")
        XCTAssertEqual(registry.snapshot("room"), #"{"channel":"room","lastEventId":"17-2","connections":3,"users":[{"user":"amy","info":null,"connections":2},{"user":"gus","info":null,"connections":0},{"user":"zed","info":{"n":1},"connections":1}]}"#)
        XCTAssertEqual(registry.snapshot("empty"), #"{"channel":"empty","lastEventId":"0","connections":0,"users":[]}"#)
    }
}
