import XCTest

@testable import Auth

final class ChannelGlobTests: XCTestCase {
    private func glob(_ pattern: String) -> ChannelGlob {
        try! ChannelGlob.parse(pattern).get()
    }

    private func check(_ pattern: String, matches: [String], not: [String], file: StaticString = #filePath, line: UInt = #line) {
        let g = glob(pattern)
        for channel in matches { XCTAssertTrue(g.matches(channel), "\(pattern) should match \(channel)", file: file, line: line) }
        for channel in not { XCTAssertFalse(g.matches(channel), "\(pattern) should not match \(channel)", file: file, line: line) }
    }

    func testALiteralMatchesOnlyItself() {
        check("news", matches: ["news"], not: ["new", "newsx", "news/a", "a/news", "News"])
        check("a/b", matches: ["a/b"], not: ["a", "a/b/c", "a/bb"])
    }

    func testAStarMatchesWithinOneSegment() {
        check("*", matches: ["a", "news", "x.y-z~_"], not: ["a/b"])
        check("room/*", matches: ["room/1", "room/lobby"], not: ["room", "room/1/2", "rooms/1", "x/room/1"])
        check("user-*", matches: ["user-", "user-42"], not: ["user", "user-4/x"])
        check("a*b*c", matches: ["abc", "aXbYc", "abbbc", "acbc"], not: ["ab", "a/b/c", "abcd"])
        check("*/x", matches: ["a/x", "bb/x"], not: ["x", "a/b/x"])
    }

    func testADoubleStarMatchesAcrossSegments() {
        check("**", matches: ["a", "a/b", "a/b/c"], not: [])
        check("a/**", matches: ["a/b", "a/b/c", "a/b/c/d"], not: ["a", "ab", "b/a/c"])
        check("**/chat", matches: ["chat", "a/chat", "a/b/chat"], not: ["chat/a", "achat"])
        check("a/**/z", matches: ["a/z", "a/b/z", "a/b/c/z"], not: ["a", "z", "a/z/b", "b/a/z"])
        check("a/**/b/**", matches: ["a/b/c", "a/x/b/c/d"], not: ["a/b", "a/x/b"])
        check("**/**", matches: ["a", "a/b"], not: [])
        check("**/x/*", matches: ["x/1", "p/q/x/1"], not: ["x", "x/1/2"])
    }

    /// Backtracking is bounded: a hostile pattern against a long name answers at once.
    func testManyWildcardsStayCheap() {
        let pattern = Array(repeating: "**/a*a*a*a", count: 10).joined(separator: "/")
        let name = Array(repeating: "aaaaaaaaaab", count: 10).joined(separator: "/")
        XCTAssertFalse(glob(pattern).matches(name))
        XCTAssertFalse(glob(String(repeating: "*a", count: 60)).matches(String(repeating: "a", count: 59) + "b"))
    }

    func testBadPatternsAreRefused() {
        for bad in ["", "/a", "a/", "a b", "a?", "a/***", "a**", "**b/c", "a,b", "é", String(repeating: "a", count: 257)] {
            XCTAssertThrowsError(try ChannelGlob.parse(bad).get(), bad)
        }
        XCTAssertNoThrow(try ChannelGlob.parse("a//b").get())
    }

    func testRulesParseTheProtectList() throws {
        let rules = try ChannelRules.parse("private/*, admin ,ops/**").get()
        XCTAssertEqual(rules.globs.map(\.pattern), ["private/*", "admin", "ops/**"])
        XCTAssertTrue(rules.matches("private/x"))
        XCTAssertTrue(rules.matches("admin"))
        XCTAssertTrue(rules.matches("ops/a/b"))
        XCTAssertFalse(rules.matches("public"))
        XCTAssertFalse(rules.matches("ops"))
        XCTAssertThrowsError(try ChannelRules.parse("a,,b").get())
        XCTAssertThrowsError(try ChannelRules.parse("a,").get())
        XCTAssertThrowsError(try ChannelRules.parse("").get())
        guard case .failure(let error) = ChannelRules.parse("a,b d") else { return XCTFail() }
        XCTAssertEqual(error.message, "channel pattern \"b d\" has a character channel names cannot have")
    }

    func testEverythingAndNothing() {
        XCTAssertTrue(ChannelRules.everything.matches("x/y/z"))
        XCTAssertFalse(ChannelRules.nothing.matches("x"))
        XCTAssertTrue(ChannelRules.nothing.isEmpty)
    }
}
