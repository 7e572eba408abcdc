import Foundation
import Glibc
import XCTest

/// The built `sse-serve` binary, run as a user would.
final class EndToEndTests: XCTestCase {
    /// The executable next to the test bundle in the build folder.
    static func binary() throws -> URL {
        var folder = Bundle.main.bundleURL
        for _ in 0..<4 {
            let candidate = folder.appendingPathComponent("sse-serve")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
            folder = folder.deletingLastPathComponent()
        }
        for bundle in Bundle.allBundles {
            let candidate = bundle.bundleURL.deletingLastPathComponent().appendingPathComponent("sse-serve")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        }
        throw XCTSkip("sse-serve binary not found next to the tests; run `swift build` first")
    }

    /// Starts the binary; returns it and the port from its `listening on` line.
    static func launch(_ arguments: [String], stdin: Any? = nil) throws -> (Process, Int, Pipe) {
        let process = Process()
        process.executableURL = try binary()
        process.arguments = arguments
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        process.standardInput = stdin ?? FileHandle.nullDevice
        try process.run()
        var text = ""
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline, !text.contains("\n") {
            let chunk = errors.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            text += String(decoding: chunk, as: UTF8.self)
        }
        let first = text.split(separator: "\n").first.map(String.init) ?? ""
        guard first.hasPrefix("listening on http://127.0.0.1:"), let port = Int(first.split(separator: ":").last ?? "") else {
            process.terminate()
            throw NSError(domain: "e2e", code: 1, userInfo: [NSLocalizedDescriptionKey: "unexpected first line: \(text)"])
        }
        return (process, port, errors)
    }

    func testBinaryServesPublishesAndStopsCleanlyOnSIGTERM() throws {
        let (process, port, _) = try Self.launch(["--port", "0", "--quiet", "stdin@lines"], stdin: Pipe())
        let client = try RawClient(port: port)
        client.send("GET /events/news HTTP/1.1\r\nHost: x\r\n\r\n")
        XCTAssertTrue(client.read(untilContains: "retry: 3000"))
        XCTAssertEqual(try HTTPClient.post(port, "/events/news", body: "from e2e").status, 200)
        XCTAssertTrue(client.read(untilContains: "data: from e2e\n\n"))
        kill(process.processIdentifier, SIGTERM)
        client.readToEnd(timeout: 5)
        XCTAssertTrue(client.text.hasSuffix("0\r\n\r\n"), "stream ended with the final chunk")
        let deadline = Date().addingTimeInterval(5)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        XCTAssertFalse(process.isRunning)
        XCTAssertEqual(process.terminationStatus, 0)
    }

    func testStandardInputLinesBecomeEvents() throws {
        let input = Pipe()
        let (process, port, _) = try Self.launch(["--port", "0", "--quiet"], stdin: input)
        defer { process.terminate(); process.waitUntilExit() }
        let client = try RawClient(port: port)
        client.send("GET /events/stdin HTTP/1.1\r\n\r\n")
        XCTAssertTrue(client.read(untilContains: "retry:"))
        input.fileHandleForWriting.write("one\ntwo\n".data(using: .utf8)!)
        XCTAssertTrue(client.read(untilContains: "data: two\n"))
        XCTAssertTrue(client.text.contains("data: one\n"))
    }

    func testHelpVersionAndBadArguments() throws {
        func run(_ arguments: [String]) throws -> (Int32, String, String) {
            let process = Process()
            process.executableURL = try Self.binary()
            process.arguments = arguments
            let out = Pipe()
            let err = Pipe()
            process.standardOutput = out
            process.standardError = err
            try process.run()
            let o = out.fileHandleForReading.readDataToEndOfFile()
            let e = err.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            return (process.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
        }
        let help = try run(["--help"])
        XCTAssertEqual(help.0, 0)
        XCTAssertTrue(help.1.hasPrefix("usage: sse-serve [OPTIONS] [SOURCE ...]"))
        XCTAssertTrue(try run(["--version"]).1.hasPrefix("sse-serve "))
        let bad = try run(["--port", "nope"])
        XCTAssertEqual(bad.0, 2)
        XCTAssertTrue(bad.2.contains("--port"))
    }
}
