import Foundation
import Glibc
import XCTest

/// Runs the built `sse-cat` (and finds `sse-serve`) as a user would, bounded by a deadline.
enum CatProcess {
    struct Result {
        var status: Int32
        var output: String
        var errors: String
    }

    /// An executable that `swift build` made next to the test bundle.
    static func binary(_ name: String) throws -> URL {
        var places: [URL] = []
        if let exe = Bundle.main.executableURL { places.append(exe.resolvingSymlinksInPath().deletingLastPathComponent()) }
        places.append(Bundle(for: ClientOptionsTests.self).bundleURL.resolvingSymlinksInPath().deletingLastPathComponent())
        places.append(URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent())
        for dir in places {
            var d = dir
            for _ in 0..<4 {
                let candidate = d.appendingPathComponent(name)
                if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
                d = d.deletingLastPathComponent()
            }
        }
        throw XCTSkip("\(name) was not found next to the tests (looked in \(places.map(\.path))); run `swift build` first")
    }

    /// Runs `sse-cat ARGUMENTS` to its exit, killing it when it outlives `timeout`.
    static func run(_ arguments: [String], timeout: TimeInterval = 10, file: StaticString = #filePath, line: UInt = #line) throws -> Result {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("sse-cat-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let outURL = folder.appendingPathComponent("out")
        let errURL = folder.appendingPathComponent("err")
        FileManager.default.createFile(atPath: outURL.path, contents: nil)
        FileManager.default.createFile(atPath: errURL.path, contents: nil)
        let out = try FileHandle(forWritingTo: outURL)
        let err = try FileHandle(forWritingTo: errURL)
        let process = Process()
        process.executableURL = try binary("sse-cat")
        process.arguments = arguments
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let finishedInTime = waitForExit(process, timeout: timeout)
        try out.close()
        try err.close()
        let result = Result(
            status: process.terminationStatus, output: try String(contentsOf: outURL, encoding: .utf8),
            errors: try String(contentsOf: errURL, encoding: .utf8))
        if !finishedInTime {
            XCTFail("sse-cat \(arguments) still running after \(timeout) s; output: \(result.output) errors: \(result.errors)", file: file, line: line)
        }
        return result
    }

    /// Waits for `process` to exit; kills it (and says so) at the deadline.
    @discardableResult
    static func waitForExit(_ process: Process, timeout: TimeInterval) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(5_000) }
        guard process.isRunning else { return true }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        return false
    }
}
