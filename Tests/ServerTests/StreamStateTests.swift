import XCTest

@testable import EventStream
@testable import Server

/// A connection's cursors over the windows of its channels: merged by id,
/// caught up or not, fallen behind, skipped ahead with a notice.
final class StreamStateTests: XCTestCase {
    /// A window of channel `name` holding one event per id sequence in `sequences`.
    private func window(_ name: String, _ sequences: [UInt64], capacity: Int = 100) -> ChannelWindow {
        let log = MemoryLog(capacity: 100)
        for n in sequences { log.append(EventEncoder.encode(id: EventID(millis: 5, sequence: n), type: "message", data: "\(name)\(n)")) }
        let window = ChannelWindow(channel: Channel(name: name, log: log, groupCount: 1), start: log.startSequence, capacity: capacity)
        window.appendNew(from: log)
        return window
    }

    private func state(_ windows: [ChannelWindow], cursors: [UInt64]? = nil) -> StreamState {
        StreamState(windows: windows, cursors: cursors ?? windows.map(\.start), chunked: true, gzip: nil, now: 0)
    }

    /// The id sequences a stream would send, in order, by walking `next(after:)`.
    private func order(_ stream: StreamState) -> [UInt64] {
        var positions = stream.cursors
        var sent: [UInt64] = []
        while let i = stream.next(after: positions) {
            sent.append(stream.windows[i].event(at: positions[i]).id.sequence)
            positions[i] += 1
        }
        return sent
    }

    func testMergesSeveralChannelsInIdOrder() {
        let a = window("a", [1, 4, 5, 9])
        let b = window("b", [2, 3, 6])
        let c = window("c", [7, 8, 10])
        XCTAssertEqual(order(state([a, b, c])), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
        XCTAssertEqual(order(state([a, b, c], cursors: [a.start + 2, b.end, c.start + 1])), [5, 8, 9, 10], "from each cursor on")
        XCTAssertEqual(order(state([a])), [1, 4, 5, 9])
        XCTAssertNil(state([a, b]).next(after: [a.end, b.end]))
    }

    func testIsCaughtUpOnlyWithEveryCursorAtItsEndAndNoPartialEvent() {
        let a = window("a", [1])
        let b = window("b", [])
        let stream = state([a, b])
        XCTAssertFalse(stream.isCaughtUp)
        stream.cursors[0] = a.end
        XCTAssertTrue(stream.isCaughtUp)
        stream.partial = 3
        XCTAssertFalse(stream.isCaughtUp, "half an event still to write")
    }

    func testFindsItsCursorAndSlotPerWindow() {
        let a = window("a", [1, 2])
        let b = window("b", [3])
        let other = window("x", [])
        let stream = state([a, b], cursors: [a.start + 1, b.start])
        XCTAssertEqual(stream.cursor(for: a), a.start + 1)
        XCTAssertEqual(stream.cursor(for: b), b.start)
        XCTAssertNil(stream.cursor(for: other))
        XCTAssertEqual(stream.slots, [-1, -1])
        stream.moveSlot(for: b, to: 7)
        XCTAssertEqual(stream.slots, [-1, 7])
    }

    func testFallsBehindWhenAWindowDropsItsCursorAndSkipsAheadWithANotice() {
        let log = MemoryLog(capacity: 100)
        let channel = Channel(name: "slow", log: log, groupCount: 1)
        let window = ChannelWindow(channel: channel, start: log.startSequence, capacity: 3)
        let fast = self.window("fast", [1])
        let stream = state([window, fast], cursors: [log.startSequence, fast.start])
        XCTAssertFalse(stream.hasFallenBehind)
        for n in 10..<16 { log.append(EventEncoder.encode(id: EventID(millis: 5, sequence: UInt64(n)), type: "message", data: "\(n)")) }
        window.appendNew(from: log)  // keeps 13, 14, 15: the cursor at 10 is lost
        XCTAssertTrue(stream.hasFallenBehind)
        let notice = stream.skipToBufferStart()
        XCTAssertFalse(stream.hasFallenBehind)
        XCTAssertEqual(stream.cursors, [window.start, fast.start], "only the lost cursor moves")
        let json = try? JSONSerialization.jsonObject(with: Data(notice.utf8)) as? [String: Any]
        let channels = json?["channels"] as? [[String: Any]]
        XCTAssertEqual(channels?.count, 1)
        XCTAssertEqual(channels?.first?["channel"] as? String, "slow")
        XCTAssertEqual(channels?.first?["resumesAt"] as? String, "5-13")
        XCTAssertEqual(order(stream), [1, 13, 14, 15])
    }
}
