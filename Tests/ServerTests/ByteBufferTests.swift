import XCTest

@testable import Server

/// A connection's byte queue: what goes in comes out in order, whatever the
/// mix of appends, partial consumes, growth, compaction and release.
final class ByteBufferTests: XCTestCase {
    private func contents(_ buffer: ByteBuffer) -> [UInt8] { Array(buffer.readable) }

    func testAnEmptyBufferHoldsNoMemory() {
        let buffer = ByteBuffer()
        XCTAssertEqual(buffer.capacity, 0)
        XCTAssertTrue(buffer.isEmpty)
        XCTAssertEqual(buffer.readable.count, 0)
        buffer.append([])
        XCTAssertEqual(buffer.capacity, 0, "appending nothing allocates nothing")
    }

    func testBytesComeOutInOrderAcrossGrowthAndCompaction() {
        let buffer = ByteBuffer()
        var model: [UInt8] = []
        var generator = SystemRandomNumberGenerator()
        var next: UInt8 = 0
        for step in 0..<2000 {
            if Bool.random(using: &generator) || model.isEmpty {
                // Mostly small appends, now and then one larger than the buffer.
                let n = step % 97 == 0 ? Int.random(in: 1000...5000, using: &generator) : Int.random(in: 1...200, using: &generator)
                let bytes = (0..<n).map { _ in
                    next &+= 1
                    return next
                }
                buffer.append(bytes)
                model += bytes
            } else {
                let n = Int.random(in: 1...model.count, using: &generator)
                buffer.consume(n)
                model.removeFirst(n)
            }
            XCTAssertEqual(buffer.count, model.count)
            XCTAssertEqual(buffer.isEmpty, model.isEmpty)
            if contents(buffer) != model {
                XCTFail("contents differ after step \(step)")
                return
            }
        }
    }

    func testCompactsInPlaceWhenMostOfItWasConsumed() {
        let buffer = ByteBuffer(capacity: 1024)
        buffer.append([UInt8](repeating: 1, count: 1000))
        buffer.consume(900)
        buffer.append([UInt8](repeating: 2, count: 500))
        XCTAssertEqual(buffer.capacity, 1024, "moved to the front, not grown")
        XCTAssertEqual(contents(buffer), [UInt8](repeating: 1, count: 100) + [UInt8](repeating: 2, count: 500))
    }

    func testConsumingEverythingStartsAgainAtTheFront() {
        let buffer = ByteBuffer(capacity: 512)
        buffer.append([UInt8](repeating: 7, count: 400))
        buffer.consume(400)
        buffer.append([UInt8](repeating: 8, count: 500))
        XCTAssertEqual(buffer.capacity, 512, "the whole capacity is free again")
        XCTAssertEqual(contents(buffer), [UInt8](repeating: 8, count: 500))
    }

    func testGivesMemoryBackOnlyWhenEmpty() {
        let buffer = ByteBuffer()
        buffer.append([UInt8](repeating: 3, count: 200_000))
        buffer.shrinkIfIdle()
        XCTAssertGreaterThanOrEqual(buffer.capacity, 200_000, "not while it holds bytes")
        buffer.releaseIfEmpty()
        XCTAssertEqual(buffer.count, 200_000)
        buffer.consume(200_000)
        buffer.shrinkIfIdle()
        XCTAssertEqual(buffer.capacity, 0)

        buffer.append([1, 2, 3])
        XCTAssertGreaterThan(buffer.capacity, 0)
        buffer.shrinkIfIdle()
        buffer.consume(3)
        buffer.shrinkIfIdle()
        XCTAssertGreaterThan(buffer.capacity, 0, "a small buffer is kept by shrinkIfIdle")
        buffer.releaseIfEmpty()
        XCTAssertEqual(buffer.capacity, 0)
        buffer.append([4, 5])
        XCTAssertEqual(contents(buffer), [4, 5], "usable after a release")
        buffer.clear()
        XCTAssertTrue(buffer.isEmpty)
    }
}
