import XCTest

@testable import EventStream

/// Found by Benchmarks/soak.sh: with subscribers of one channel on two loops,
/// one loop stopped seeing new events of the channel while the other had not
/// synced yet (Hub.append skips marking every group when any group's bit is set).
final class HubDeliveryRegressionTests: XCTestCase {
    func testEveryGroupSeesEveryPublishWhateverTheOtherGroupsHaveSynced() throws {
        let hub = Hub(bufferSize: 100, groupCount: 2)
        let first = try hub.subscribe(hub.group(0), to: ["a"], after: nil)
        _ = try hub.subscribe(hub.group(1), to: ["a"], after: nil)
        try hub.publish([Event(data: "1")], to: "a")
        _ = hub.sync(hub.group(0))  // loop 0 takes event 1; loop 1 has not run yet
        XCTAssertEqual(first.windows[0].end - first.windows[0].start, 1)
        try hub.publish([Event(data: "2")], to: "a")
        _ = hub.sync(hub.group(0))
        // Loop 0 must have event 2 now, not after some later publish once loop 1 has synced.
        XCTAssertEqual(first.windows[0].end - first.windows[0].start, 2, "event 2 is stuck in the channel log for loop 0")
    }
}
