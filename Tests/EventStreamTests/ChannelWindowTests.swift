import XCTest

@testable import EventStream

/// A loop's window onto a channel: filled from the channel's log, cut to its
/// capacity, trimmed behind the slowest cursor, extended back for a replay.
final class ChannelWindowTests: XCTestCase {
    private func event(_ n: UInt64) -> WireEvent {
        EventEncoder.encode(id: EventID(millis: 1000, sequence: n), type: "message", data: "e\(n)")
    }

    /// A log holding events 0..<count (ids 1000-0 …), and its first sequence.
    private func log(capacity: Int, count: UInt64) -> MemoryLog {
        let log = MemoryLog(capacity: capacity)
        for n in 0..<count { log.append(event(n)) }
        return log
    }

    private func window(on log: MemoryLog, start: UInt64, capacity: Int = 100) -> ChannelWindow {
        ChannelWindow(channel: Channel(name: "c", log: log, groupCount: 1), start: start, capacity: capacity)
    }

    private func ids(_ window: ChannelWindow) -> [UInt64] {
        (window.start..<window.end).map { window.event(at: $0).id.sequence }
    }

    func testTakesWhatTheLogHasAndSharesItsBytes() {
        let log = log(capacity: 10, count: 3)
        let window = window(on: log, start: log.startSequence)
        window.appendNew(from: log)
        XCTAssertEqual(window.end, log.endSequence)
        XCTAssertEqual(ids(window), [0, 1, 2])
        XCTAssertTrue(window.event(at: window.start) === log.event(at: log.startSequence), "the same event, not a copy")
        let chunk = window.segment(at: window.start, chunked: true)
        let body = window.segment(at: window.start, chunked: false)
        XCTAssertEqual(String(decoding: body, as: UTF8.self), "id: 1000-0\ndata: e0\n\n")
        XCTAssertEqual(String(decoding: chunk, as: UTF8.self), "15\r\nid: 1000-0\ndata: e0\n\n\r\n")
        // Nothing new: a second fill changes nothing.
        window.appendNew(from: log)
        XCTAssertEqual(ids(window), [0, 1, 2])
        log.append(event(3))
        window.appendNew(from: log)
        XCTAssertEqual(ids(window), [0, 1, 2, 3])
    }

    func testKeepsOnlyItsCapacityAndSaysWhichCursorsFellBehind() {
        let log = log(capacity: 100, count: 10)
        let first = log.startSequence
        let window = window(on: log, start: first, capacity: 4)
        window.appendNew(from: log)
        XCTAssertEqual(ids(window), [6, 7, 8, 9])
        XCTAssertEqual(window.start, first + 6)
        XCTAssertTrue(window.hasLost(first + 5))
        XCTAssertFalse(window.hasLost(first + 6))
        XCTAssertFalse(window.hasLost(window.end), "a cursor at the end is caught up, not lost")
    }

    func testStartsAgainWhereTheLogIsWhenTheLogForgotWhatItHadNotTaken() {
        let log = log(capacity: 3, count: 2)
        let window = window(on: log, start: log.startSequence)
        window.appendNew(from: log)
        let oldCursor = window.start
        for n in 2..<10 { log.append(event(UInt64(n))) }  // the log now holds 7, 8, 9
        window.appendNew(from: log)
        XCTAssertEqual(ids(window), [7, 8, 9])
        XCTAssertEqual(window.start, log.startSequence)
        XCTAssertTrue(window.hasLost(oldCursor))
    }

    func testTrimForgetsOnlyWhatEveryCursorHasPassed() {
        let log = log(capacity: 10, count: 6)
        let first = log.startSequence
        let window = window(on: log, start: first)
        window.appendNew(from: log)
        window.trim(upTo: first)
        XCTAssertEqual(ids(window), [0, 1, 2, 3, 4, 5], "a cursor at the start keeps everything")
        window.trim(upTo: first + 2)
        XCTAssertEqual(ids(window), [2, 3, 4, 5])
        window.trim(upTo: first + 1)
        XCTAssertEqual(ids(window), [2, 3, 4, 5], "never grows back by trimming")
        window.trim(upTo: first + 100)
        XCTAssertEqual(window.start, window.end, "trimmed past the end: empty, at the end")
        XCTAssertEqual(window.end, log.endSequence)
        log.append(event(6))
        window.appendNew(from: log)
        XCTAssertEqual(ids(window), [6])
    }

    func testExtendsBackForAReplayAsFarAsTheLogReaches() {
        let log = log(capacity: 5, count: 8)  // holds 3...7
        let window = window(on: log, start: log.endSequence)
        window.appendNew(from: log)
        XCTAssertEqual(ids(window), [])
        window.extendBack(to: log.endSequence - 2, from: log)
        XCTAssertEqual(ids(window), [6, 7])
        window.extendBack(to: 0, from: log)
        XCTAssertEqual(ids(window), [3, 4, 5, 6, 7], "no further than the log holds")
        XCTAssertEqual(window.start, log.startSequence)
    }
}
