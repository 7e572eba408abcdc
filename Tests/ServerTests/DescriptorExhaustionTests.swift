import Foundation
import Glibc
import XCTest

/// The real binary under a small open-file limit (`ulimit -n` in its shell):
/// once out of descriptors it answers 503, stays idle rather than spinning on
/// EMFILE, and serves again once descriptors are freed.
final class DescriptorExhaustionTests: XCTestCase {
    /// CPU seconds (user + system) the process `pid` has used.
    private func cpuSeconds(_ pid: pid_t) -> Double? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    func testOutOfDescriptorsItRefusesWith503StaysIdleAndRecovers() throws {
        let binary = try EndToEndTests.binary()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        // --max-clients above what the limit allows, so accept itself runs out.
        process.arguments = ["-c", "ulimit -n 40 && exec \"$0\" --port 0 --threads 2 --max-clients 1000 --quiet stdin@in", binary.path]
        let errors = Pipe()
        let input = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        process.standardInput = input
        try process.run()
        defer {
            if process.isRunning { process.terminate() }
            process.waitUntilExit()
        }
        var first = ""
        while !first.contains("\n") {
            let chunk = errors.fileHandleForReading.availableData  // at end of file if it exits
            if chunk.isEmpty { break }
            first += String(decoding: chunk, as: UTF8.self)
        }
        let port = try XCTUnwrap(first.split(separator: "\n").first.flatMap { Int($0.split(separator: ":").last ?? "") }, first)

        var clients: [RawClient] = []
        var statuses: [String: Int] = [:]
        for _ in 0..<60 {
            let client = try RawClient(port: port)
            client.send("GET /events/a HTTP/1.1\r\nHost: x\r\n\r\n")
            XCTAssertTrue(client.read(untilContains: "\r\n\r\n"), "every connection is answered")
            statuses[String(client.text.prefix(12)), default: 0] += 1
            clients.append(client)
        }
        XCTAssertGreaterThan(statuses["HTTP/1.1 200"] ?? 0, 0, "\(statuses)")
        XCTAssertGreaterThan(statuses["HTTP/1.1 503"] ?? 0, 0, "the limit was reached: \(statuses)")

        // Spinning on EMFILE would burn a whole core; idle, it uses next to nothing.
        let before = try XCTUnwrap(cpuSeconds(process.processIdentifier))
        Thread.sleep(forTimeInterval: 1)
        let spent = try XCTUnwrap(cpuSeconds(process.processIdentifier)) - before
        XCTAssertLessThan(spent, 0.5, "CPU seconds in 1 s while out of descriptors")

        clients.removeAll()
        var recovered = false
        let deadline = Date().addingTimeInterval(5)
        while !recovered && Date() < deadline {
            recovered = (try? HTTPClient.get(port, "/healthz"))?.status == 200
        }
        XCTAssertTrue(recovered, "serves again once connections are closed")
    }
}
