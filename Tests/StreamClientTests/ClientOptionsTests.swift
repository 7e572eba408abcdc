import XCTest

@testable import StreamClient

final class ClientOptionsTests: XCTestCase {
    private func options(_ arguments: [String]) throws -> ClientOptions {
        guard case .run(let options) = try ClientOptions.parse(arguments) else {
            XCTFail("expected options to run with")
            throw UsageError("not run")
        }
        return options
    }

    private func usageError(_ arguments: [String]) -> String? {
        do {
            _ = try ClientOptions.parse(arguments)
            return nil
        } catch {
            return error.message
        }
    }

    func testDefaults() throws {
        let o = try options(["http://example.com/events/news"])
        XCTAssertEqual(o.url, ClientURL(host: "example.com", port: 80, target: "/events/news"))
        XCTAssertEqual(o.format, .json)
        XCTAssertNil(o.lastEventID)
        XCTAssertNil(o.count)
        XCTAssertEqual(o.eventTypes, [])
        XCTAssertEqual(o.headers, [])
        XCTAssertTrue(o.reconnect)
    }

    func testEveryOption() throws {
        let o = try options([
            "--format", "data", "--last-event-id", "17-0", "-n", "3", "--event", "a", "--event=b", "-H", "Authorization: Bearer x y",
            "-H", "X-Empty:", "--no-reconnect", "http://127.0.0.1:8080/events?channel=a&channel=b",
        ])
        XCTAssertEqual(o.format, .data)
        XCTAssertEqual(o.lastEventID, "17-0")
        XCTAssertEqual(o.count, 3)
        XCTAssertEqual(o.eventTypes, ["a", "b"])
        XCTAssertEqual(o.headers, [.init("Authorization", "Bearer x y"), .init("X-Empty", "")])
        XCTAssertFalse(o.reconnect)
        XCTAssertEqual(o.url.target, "/events?channel=a&channel=b")
        XCTAssertEqual(try options(["--count=5", "--format=sse", "http://h/"]).count, 5)
        XCTAssertEqual(try options(["--", "http://h/"]).url.host, "h")
    }

    func testHelpAndVersion() throws {
        XCTAssertEqual(try ClientOptions.parse(["--help"]), .help)
        XCTAssertEqual(try ClientOptions.parse(["http://h/", "-h"]), .help)
        XCTAssertEqual(try ClientOptions.parse(["--version"]), .version)
    }

    func testBadUsage() {
        XCTAssertEqual(usageError([]), "no URL given")
        XCTAssertEqual(usageError(["http://a/", "http://b/"]), "more than one URL: 'http://a/' and 'http://b/'")
        XCTAssertEqual(usageError(["--format", "xml", "http://h/"]), "--format must be json, data or sse, not 'xml'")
        XCTAssertEqual(usageError(["-n", "0", "http://h/"]), "-n needs a whole number of events, at least 1, not '0'")
        XCTAssertEqual(usageError(["-n"]), "-n needs a value")
        XCTAssertEqual(usageError(["--bogus", "http://h/"]), "unknown option --bogus")
        XCTAssertNotNil(usageError(["-H", "no colon", "http://h/"]))
        XCTAssertNotNil(usageError(["-H", "Bad Name: v", "http://h/"]))
        XCTAssertNotNil(usageError(["--last-event-id", "a\nb", "http://h/"]))
        XCTAssertNotNil(usageError(["--event", "", "http://h/"]))
    }

    func testURLs() throws {
        XCTAssertEqual(try ClientURL.parse("http://localhost:8080"), ClientURL(host: "localhost", port: 8080, target: "/"))
        XCTAssertEqual(try ClientURL.parse("HTTP://Example.COM?x=1#frag"), ClientURL(host: "Example.COM", port: 80, target: "/?x=1"))
        XCTAssertEqual(try ClientURL.parse("http://[::1]:9000/events/a"), ClientURL(host: "::1", port: 9000, target: "/events/a"))
        XCTAssertEqual(try ClientURL.parse("http://[fe80::1%25eth0]/"), ClientURL(host: "fe80::1%eth0", port: 80, target: "/"))
        XCTAssertEqual(ClientURL(host: "fe80::1%eth0", port: 80).hostHeader, "[fe80::1%25eth0]")
        XCTAssertEqual(ClientURL(host: "::1", port: 9000).hostHeader, "[::1]:9000")
        XCTAssertEqual(ClientURL(host: "h", port: 80).hostHeader, "h")
        XCTAssertEqual(ClientURL(host: "10.0.0.1", port: 81).hostHeader, "10.0.0.1:81")
    }

    func testBadURLsSayWhy() {
        func reason(_ text: String) -> String {
            do {
                _ = try ClientURL.parse(text)
                return "accepted"
            } catch {
                return error.message
            }
        }
        XCTAssertTrue(reason("https://example.com/").contains("no TLS built in"))
        XCTAssertTrue(reason("https://example.com/").contains("stunnel"))
        XCTAssertTrue(reason("ftp://example.com/").hasSuffix("not an http:// URL"))
        XCTAssertTrue(reason("example.com/events").hasSuffix("not an http:// URL"))
        XCTAssertTrue(reason("http:///events").hasSuffix("no host name"))
        XCTAssertTrue(reason("http://h:0/").contains("port must be a number"))
        XCTAssertTrue(reason("http://h:65536/").contains("port must be a number"))
        XCTAssertTrue(reason("http://h:x/").contains("port must be a number"))
        XCTAssertTrue(reason("http://[::1/").contains("unclosed ["))
        XCTAssertTrue(reason("http://[::1]x/").contains("after the IPv6"))
        XCTAssertTrue(reason("http://user:pw@h/").contains("user names"))
        XCTAssertTrue(reason("http://h/a b").contains("space"))
        XCTAssertTrue(reason("http://h!/").contains("malformed host"))
    }
}
