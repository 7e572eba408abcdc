import XCTest

@testable import Auth

final class ChannelAccessTests: XCTestCase {
    func testPresenceChannelsAreAuthorizedAsTheirChannel() {
        XCTAssertEqual(ChannelAccess.governingChannel("presence/room/1"), "room/1")
        XCTAssertEqual(ChannelAccess.governingChannel("room/1"), "room/1")
        XCTAssertEqual(ChannelAccess.governingChannel("presence"), "presence")
        XCTAssertEqual(ChannelAccess.governingChannel("presences/x"), "presences/x")
    }

    func testEveryProtectedChannelMustBeAllowed() throws {
        let protected = try ChannelRules.parse("room/*,secret").get()
        let allowed = try ChannelRules.parse("room/1").get()
        XCTAssertNil(ChannelAccess.firstRefused(["news", "room/1", "presence/room/1"], protected: protected, allowed: allowed.matches))
        XCTAssertEqual(ChannelAccess.firstRefused(["news", "room/1", "room/2"], protected: protected, allowed: allowed.matches), "room/2")
        XCTAssertEqual(ChannelAccess.firstRefused(["presence/secret"], protected: protected, allowed: allowed.matches), "presence/secret")
        XCTAssertEqual(
            ChannelAccess.protectedChannels(["news", "room/1", "presence/room/2", "room/1"], protected: protected),
            ["room/1", "presence/room/2"])
        XCTAssertEqual(ChannelAccess.governingChannels(["room/1", "presence/room/2", "presence/room/1", "room/2"]), ["room/1", "room/2"])
    }
}
