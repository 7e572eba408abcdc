import Foundation
import Glibc
import XCTest

/// `--public`: links that stay inside the folder are followed; nothing outside it is served.
final class PublicFolderTests: XCTestCase {
    func testASymlinkPointingOutsideThePublicFolderIsNotServed() throws {
        let base = NSTemporaryDirectory() + "/public-test-" + UUID().uuidString
        let folder = base + "/public"
        try FileManager.default.createDirectory(atPath: folder + "/sub", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: base) }
        try "inside".write(toFile: folder + "/sub/page.txt", atomically: true, encoding: .utf8)
        try "SECRET".write(toFile: base + "/secret.txt", atomically: true, encoding: .utf8)
        XCTAssertEqual(symlink("../secret.txt", folder + "/leak.txt"), 0)
        XCTAssertEqual(symlink(base + "/secret.txt", folder + "/absolute.txt"), 0)
        XCTAssertEqual(symlink("..", folder + "/up"), 0)
        XCTAssertEqual(symlink("sub/page.txt", folder + "/alias.txt"), 0)

        let server = try TestServer(["--public", folder])
        for path in ["/leak.txt", "/absolute.txt", "/up/secret.txt", "/up/public/sub/page.txt/../../../secret.txt"] {
            let reply = try HTTPClient.get(server.port, path)
            XCTAssertTrue([400, 403, 404].contains(reply.status), "\(path): \(reply.status)")
            XCTAssertFalse(reply.body.contains("SECRET"), path)
        }
        let inside = try HTTPClient.get(server.port, "/alias.txt")
        XCTAssertEqual(inside.status, 200, "a link that stays inside is followed")
        XCTAssertEqual(inside.body, "inside")
    }
}
