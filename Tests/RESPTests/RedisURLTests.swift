import XCTest

@testable import RESP

final class RedisURLTests: XCTestCase {
    private func parse(_ text: String) throws -> RedisURL { try RedisURL(parsing: text) }

    func testReadsHostPortDatabaseAndLogin() throws {
        XCTAssertEqual(try parse("redis://localhost"), RedisURL(endpoint: .tcp(host: "localhost", port: 6379)))
        XCTAssertEqual(try parse("redis://127.0.0.1:7000/3"), RedisURL(endpoint: .tcp(host: "127.0.0.1", port: 7000), database: 3))
        XCTAssertEqual(try parse("REDIS://h/"), RedisURL(endpoint: .tcp(host: "h", port: 6379)))
        XCTAssertEqual(try parse("redis://:s3cret@h"), RedisURL(endpoint: .tcp(host: "h", port: 6379), password: "s3cret"))
        XCTAssertEqual(
            try parse("redis://app%40x:p%3Aa%2Fss%40@redis.internal:6380/15"),
            RedisURL(endpoint: .tcp(host: "redis.internal", port: 6380), user: "app@x", password: "p:a/ss@", database: 15))
        // The last @ ends the login, so an unescaped @ in a password still works.
        XCTAssertEqual(try parse("redis://u:a@b@h").password, "a@b")
        XCTAssertEqual(try parse("redis://[::1]:6390/1"), RedisURL(endpoint: .tcp(host: "::1", port: 6390), database: 1))
        XCTAssertEqual(try parse("redis://[fe80::1]"), RedisURL(endpoint: .tcp(host: "fe80::1", port: 6379)))
    }

    func testReadsUnixSockets() throws {
        XCTAssertEqual(try parse("unix:///run/redis/redis.sock"), RedisURL(endpoint: .unix(path: "/run/redis/redis.sock")))
        XCTAssertEqual(try parse("unix:///tmp/r.sock?db=2"), RedisURL(endpoint: .unix(path: "/tmp/r.sock"), database: 2))
    }

    func testRefusesWhatItCannotUseWithTheReason() {
        let cases: [(String, String)] = [
            ("localhost:6379", "unknown scheme"),
            ("http://h", "unknown scheme"),
            ("rediss://h", "TLS (rediss://) is not supported"),
            ("redis://", "no host"),
            ("redis://:6379", "no host"),
            ("redis://h:0", "the port must be a number from 1 to 65535"),
            ("redis://h:65536", "the port must be a number from 1 to 65535"),
            ("redis://h:x", "the port must be a number from 1 to 65535"),
            ("redis://h/db", "the database must be a number, as in /0"),
            ("redis://h/-1", "the database must be a number, as in /0"),
            ("redis://h?db=1", "a query or fragment is not allowed here"),
            ("redis://pw@h", "expected [USER]:PASSWORD before @"),
            ("redis://u:%zz@h", "bad %-escape in the user or password"),
            ("redis://::1:6379", "an IPv6 address must be in brackets, as in redis://[::1]:6379"),
            ("redis://[::1", "an IPv6 address needs its closing ]"),
            ("redis://[::1]x", "expected :PORT after the IPv6 address"),
            ("redis://[x]", "bad IPv6 address"),
            ("redis://h st", "bad character in the host"),
            ("unix://relative.sock", "the socket path must be absolute, as in unix:///run/redis.sock"),
            ("unix:///tmp/r.sock?database=1", "unknown parameter \"database=1\" (only db=N)"),
            ("unix:///" + String(repeating: "a", count: 107), "the socket path is longer than 107 bytes"),
        ]
        for (text, reason) in cases {
            XCTAssertThrowsError(try parse(text), text) { error in
                let error = error as? RedisURLError
                XCTAssertEqual(error?.reason, reason, text)
                XCTAssertEqual(error?.description.hasPrefix("--redis: expected redis://"), true)
                XCTAssertEqual(error?.description.contains("got \"\(text)\""), true)
            }
        }
    }

    func testTheDescriptionHidesThePassword() throws {
        XCTAssertEqual(try parse("redis://u:secret@[::1]:7/2").description, "redis://u:***@[::1]:7/2")
        XCTAssertEqual(try parse("unix:///s?db=3").description, "unix:///s?db=3")
    }
}
