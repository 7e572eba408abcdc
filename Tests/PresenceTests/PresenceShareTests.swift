import EventStream
import Synchronization
import XCTest

@testable import Presence

/// The registry as one node's share (with `--redis`): what `onChange` names,
/// and what `shares` and `allKeys` read back.
final class PresenceShareTests: XCTestCase {
    private final class Changes: Sendable {
        let keys = Mutex<[PresenceKey]>([])
        func take() -> Set<PresenceKey> { keys.withLock { let taken = Set($0); $0 = []; return taken } }
    }

    private let room = PresenceKey(channel: "room", user: nil)
    private let ana = PresenceKey(channel: "room", user: "ana")

    func testChangesAreNamedAndSharesReadBackThroughTheGraceAndAfter() {
        let nanos = Mutex<UInt64>(1_000)
        let changes = Changes()
        let registry = PresenceRegistry(
            leaveGrace: 5, clock: { nanos.withLock { $0 } }, onChange: { key in changes.keys.withLock { $0.append(key) } }, output: { _ in })
        registry.join(channel: "room", user: "ana", info: "{\"n\":1}")
        registry.join(channel: "room", user: "ana", info: "{\"n\":2}")
        registry.join(channel: "room", user: nil, info: nil)
        XCTAssertEqual(changes.take(), [room, ana])
        XCTAssertEqual(registry.shares(of: [room, ana]), [
            PresenceShare(key: room, connections: 3), PresenceShare(key: ana, connections: 2, info: "{\"n\":2}"),
        ])
        XCTAssertEqual(Set(registry.allKeys()), [room, ana])
        for user in ["ana", "ana", nil] { registry.leave(channel: "room", user: user) }
        XCTAssertEqual(changes.take(), [room, ana])
        // Within the grace: present with no connection.
        XCTAssertEqual(registry.shares(of: [room, ana]).map(\.connections), [0, 0])
        registry.tick(now: 1_000 + 4_000_000_000)
        XCTAssertEqual(changes.take(), [])
        registry.tick(now: 1_000 + 5_000_000_000)
        XCTAssertEqual(changes.take(), [room, ana])
        XCTAssertEqual(registry.shares(of: [room, ana]).map(\.connections), [nil, nil])
        XCTAssertEqual(registry.allKeys(), [])
        XCTAssertEqual(registry.shares(of: [PresenceKey(channel: "never", user: "x")]).map(\.connections), [nil])
    }

    func testTheSnapshotJSONListsUsersByName() {
        let snapshot = PresenceSnapshot(
            channel: "room", lastEventID: "5-0", connections: 3,
            users: [.init(user: "zed", info: nil, connections: 1), .init(user: "ana", info: "{\"n\":1}", connections: 0)])
        XCTAssertEqual(
            snapshot.json,
            #"{"channel":"room","lastEventId":"5-0","connections":3,"users":[{"user":"ana","info":{"n":1},"connections":0},{"user":"zed","info":null,"connections":1}]}"#)
    }
}
