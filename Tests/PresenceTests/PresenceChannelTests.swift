import EventStream
import Foundation
import Synchronization
import XCTest

@testable import Presence

/// The registry wired to a real hub: `join`/`leave` on `presence/{channel}`,
/// and snapshots whose `lastEventId` makes snapshot + replay exact.
final class PresenceChannelTests: XCTestCase {
    /// The members a snapshot lists.
    private func members(_ text: String) throws -> (last: String, users: Set<String>) {
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        let users = try XCTUnwrap(object["users"] as? [[String: Any]]).compactMap { $0["user"] as? String }
        return (try XCTUnwrap(object["lastEventId"] as? String), Set(users))
    }

    /// The `presence/{channel}` events after `id`, as the hub replays them.
    private func replay(_ hub: Hub, _ channel: String, after id: EventID) throws -> [(type: String, user: String)] {
        let group = hub.group(0)
        let result = try hub.subscribe(group, to: [channel], after: id)
        defer { hub.unsubscribe(group, from: result.windows[0]) }
        XCTAssertNil(result.gap)
        let window = result.windows[0]
        return try (result.cursors[0]..<window.end).map { sequence in
            let event = window.event(at: sequence)
            let data = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(event.data.utf8)) as? [String: Any])
            return (event.type, try XCTUnwrap(data["user"] as? String))
        }
    }

    func testJoinAndLeaveArePublishedOnThePresenceChannel() throws {
        let hub = Hub(bufferSize: 100)
        let probe = RegistryProbe()
        let registry = PresencePublisher(hub: hub, webhooks: nil).makeRegistry(leaveGrace: 1, clock: { [probe] in probe.now })
        registry.join(channel: "room", user: "alice", info: #"{"name":"Alice"}"#)
        registry.leave(channel: "room", user: "alice")
        probe.advance(seconds: 1)
        registry.tick()
        let events = try replay(hub, "presence/room", after: .zero)
        XCTAssertEqual(events.map(\.type), ["join", "leave"])
        let group = hub.group(0)
        let result = try hub.subscribe(group, to: ["presence/room"], after: .zero)
        XCTAssertEqual(result.windows[0].event(at: result.cursors[0]).data, #"{"user":"alice","info":{"name":"Alice"}}"#)
        hub.unsubscribe(group, from: result.windows[0])
        XCTAssertThrowsError(try hub.publish([Event(data: "x")], to: "presence/room"), "still refused to publishers")
    }

    func testSnapshotPlusReplayFromItsLastEventIdMissesNothing() throws {
        let hub = Hub(bufferSize: 100_000)
        let probe = RegistryProbe()
        let registry = PresencePublisher(hub: hub, webhooks: nil).makeRegistry(leaveGrace: 0, clock: { [probe] in probe.now })
        let snapshots = Mutex<[String]>([])
        // Writers churn while a reader takes snapshots; each snapshot, brought
        // forward by the events after its id, must equal the final figures.
        DispatchQueue.concurrentPerform(iterations: 4) { worker in
            if worker == 0 {
                for _ in 0..<100 { snapshots.withLock { $0.append(registry.snapshot("room")) } }
                return
            }
            for i in 0..<300 {
                let user = "u\(worker)-\(i % 17)"
                registry.join(channel: "room", user: user, info: nil)
                if i % 2 == 0 {
                    registry.leave(channel: "room", user: user)
                    registry.tick()
                }
            }
        }
        registry.tick()
        let final = try members(registry.snapshot("room")).users
        for text in snapshots.withLock({ $0 }) {
            let (last, start) = try members(text)
            var users = start
            for (type, user) in try replay(hub, "presence/room", after: try XCTUnwrap(EventID(parsing: last))) {
                if type == "join" {
                    XCTAssertTrue(users.insert(user).inserted, "join of \(user), already in the snapshot at \(last)")
                } else {
                    XCTAssertNotNil(users.remove(user), "leave of \(user), not in the snapshot at \(last)")
                }
            }
            XCTAssertEqual(users, final)
        }
    }
}
