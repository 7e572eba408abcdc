import XCTest

@testable import Auth

final class DecisionCacheTests: XCTestCase {
    /// The clock the tests move by hand.
    private var now: UInt64 = 1_000

    func testAValueLastsUntilItsExpiry() {
        var cache = DecisionCache<String>()
        cache.store("yes", for: "k", expiry: now + 30, now: now)
        XCTAssertEqual(cache.value(for: "k", now: now), "yes")
        XCTAssertEqual(cache.value(for: "k", now: now + 29), "yes")
        XCTAssertNil(cache.value(for: "k", now: now + 30))
        XCTAssertEqual(cache.count, 0, "an expired entry found is dropped")
        XCTAssertNil(cache.value(for: "other", now: now))
    }

    func testStoringAgainReplacesAndAnExpiredStoreIsNone() {
        var cache = DecisionCache<Int>()
        cache.store(1, for: "k", expiry: now + 10, now: now)
        cache.store(2, for: "k", expiry: now + 20, now: now)
        XCTAssertEqual(cache.value(for: "k", now: now + 15), 2)
        cache.store(3, for: "k", expiry: now, now: now)
        XCTAssertNil(cache.value(for: "k", now: now))
        cache.store(4, for: "k", expiry: now + 5, now: now)
        cache.remove("k")
        XCTAssertNil(cache.value(for: "k", now: now))
    }

    func testWhenFullTheOldestGoesFirst() {
        var cache = DecisionCache<Int>(capacity: 3)
        for i in 0..<3 { cache.store(i, for: "k\(i)", expiry: now + 100, now: now) }
        // Storing k0 again makes it the newest.
        cache.store(10, for: "k0", expiry: now + 100, now: now)
        cache.store(3, for: "k3", expiry: now + 100, now: now)
        XCTAssertEqual(cache.count, 3)
        XCTAssertNil(cache.value(for: "k1", now: now))
        XCTAssertEqual(cache.value(for: "k0", now: now), 10)
        XCTAssertEqual(cache.value(for: "k2", now: now), 2)
        XCTAssertEqual(cache.value(for: "k3", now: now), 3)
    }

    func testExpiredEntriesAreCleanedAsNewOnesArrive() {
        var cache = DecisionCache<Int>(capacity: 1000)
        for i in 0..<100 { cache.store(i, for: "old\(i)", expiry: now + 1, now: now) }
        now += 10
        for i in 0..<30 { cache.store(i, for: "new\(i)", expiry: now + 10, now: now) }
        XCTAssertLessThanOrEqual(cache.count, 100, "each store drops some expired ones")
        XCTAssertEqual(cache.value(for: "new29", now: now), 29)
    }

    /// Memory stays bounded however keys come and go.
    func testManyKeysStayWithinTheCapacity() {
        var cache = DecisionCache<Int>(capacity: 50)
        for i in 0..<20_000 {
            now += 1
            cache.store(i, for: "k\(i % 300)", expiry: now + UInt64(i % 7) * 3, now: now)
            if i % 3 == 0 { _ = cache.value(for: "k\((i * 7) % 300)", now: now) }
            XCTAssertLessThanOrEqual(cache.count, 50)
        }
        // The same key stored over and over.
        for i in 0..<1000 { cache.store(i, for: "same", expiry: now + 100, now: now) }
        XCTAssertEqual(cache.value(for: "same", now: now), 999)
    }

    func testIdenticalRequestsInFlightAskOnce() {
        var flights = SingleFlight<Int>()
        XCTAssertEqual(flights.beginOrJoin("k", 1), .first)
        XCTAssertEqual(flights.beginOrJoin("k", 2), .joined)
        XCTAssertEqual(flights.beginOrJoin("other", 3), .first)
        XCTAssertEqual(flights.beginOrJoin("k", 4), .joined)
        XCTAssertTrue(flights.isInFlight("k"))
        flights.leave("k") { $0 == 2 }
        XCTAssertEqual(flights.complete("k"), [1, 4])
        XCTAssertFalse(flights.isInFlight("k"))
        XCTAssertEqual(flights.complete("k"), [])
        XCTAssertEqual(flights.beginOrJoin("k", 5), .first, "a new flight after the answer")
        XCTAssertEqual(flights.count, 2)
    }

    func testDecisionKeysSeparateEveryPart() {
        let base = DecisionKey.make(cookie: "a", authorization: nil, token: "t", channels: ["x", "y"])
        XCTAssertEqual(base, DecisionKey.make(cookie: "a", authorization: nil, token: "t", channels: ["x", "y"]))
        XCTAssertEqual(base.count, 43)
        let others = [
            DecisionKey.make(cookie: "a", authorization: "", token: "t", channels: ["x", "y"]),
            DecisionKey.make(cookie: nil, authorization: "a", token: "t", channels: ["x", "y"]),
            DecisionKey.make(cookie: "a", authorization: nil, token: "t", channels: ["xy"]),
            DecisionKey.make(cookie: "a", authorization: nil, token: "t", channels: ["y", "x"]),
            DecisionKey.make(cookie: "a", authorization: nil, token: nil, channels: ["t", "x", "y"]),
            DecisionKey.make(cookie: "at", authorization: nil, token: nil, channels: ["x", "y"]),
        ]
        XCTAssertEqual(Set(others + [base]).count, others.count + 1)
    }
}
