import Foundation
import Glibc

/// Running programs from the tests: the built binaries, make, man.
enum Programs {
    /// The folder holding the built `sse-serve` (beside the test bundle), or nil.
    static func binaryFolder() -> String? {
        var candidates: [URL] = []
        var folder = Bundle.main.bundleURL
        for _ in 0..<4 {
            candidates.append(folder)
            folder = folder.deletingLastPathComponent()
        }
        candidates += Bundle.allBundles.map { $0.bundleURL.deletingLastPathComponent() }
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0.appendingPathComponent("sse-serve").path) }?.path
    }

    /// The full path of `name` on PATH, or nil.
    static func which(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        return path.split(separator: ":").map { "\($0)/\(name)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    struct Result {
        var status: Int32
        var output: String
        var errors: String
    }

    /// Runs `executable` to its end (killed after `timeout` seconds).
    static func run(
        _ executable: String, _ arguments: [String], in folder: String? = nil, environment: [String: String] = [:], timeout: Double = 60
    ) throws -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let folder { process.currentDirectoryURL = URL(fileURLWithPath: folder) }
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let timer = DispatchWorkItem { if process.isRunning { process.terminate() } }
        DispatchQueue.global().asyncAfter(deadline: .now() + timeout, execute: timer)
        // Both pipes drained at once, so neither can fill and stall the child.
        final class Box: @unchecked Sendable { var data = Data() }
        let errors = Box()
        let group = DispatchGroup()
        group.enter()
        DispatchQueue.global().async {
            errors.data = err.fileHandleForReading.readDataToEndOfFile()
            group.leave()
        }
        let output = out.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        process.waitUntilExit()
        timer.cancel()
        return Result(status: process.terminationStatus, output: String(decoding: output, as: UTF8.self), errors: String(decoding: errors.data, as: UTF8.self))
    }
}

/// A server process started from a binary, stopped with SIGTERM.
final class ServerProcess {
    let process = Process()
    let errors = Pipe()
    private(set) var port = 0
    private(set) var stderrText = ""

    /// Starts `binary` in `folder` and waits for its `listening on` line.
    init(_ binary: String, _ arguments: [String], in folder: String) throws {
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: folder)
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline, !stderrText.contains("\n") {
            let chunk = errors.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            stderrText += String(decoding: chunk, as: UTF8.self)
        }
        var first = stderrText.split(separator: "\n").first.map(String.init) ?? ""
        if first.hasPrefix("{"),
            let object = try? JSONSerialization.jsonObject(with: Data(first.utf8)) as? [String: Any],
            let message = object["msg"] as? String
        {
            first = message
        }
        guard first.hasPrefix("listening on http://127.0.0.1:"), let port = Int(first.split(separator: ":").last ?? "") else {
            process.terminate()
            throw NSError(domain: "install", code: 1, userInfo: [NSLocalizedDescriptionKey: "unexpected first lines: \(stderrText)"])
        }
        self.port = port
    }

    /// SIGTERM, then everything it wrote to standard error; its exit status.
    func stop() -> Int32 {
        kill(process.processIdentifier, SIGTERM)
        stderrText += String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return process.terminationStatus
    }

    deinit { if process.isRunning { process.terminate() } }
}

/// One HTTP/1.1 exchange on loopback: status and body (read to the close, bounded).
func httpGet(_ port: Int, _ path: String, until done: ((String) -> Bool)? = nil, timeout: Double = 5) throws -> (status: Int, body: String) {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = UInt16(port).bigEndian
    inet_pton(AF_INET, "127.0.0.1", &address.sin_addr)
    let rc = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard rc == 0 else { throw NSError(domain: "http", code: Int(errno)) }
    var wait = timeval(tv_sec: 0, tv_usec: 100_000)
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &wait, socklen_t(MemoryLayout<timeval>.size))
    let request = "GET \(path) HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    _ = request.withCString { send(fd, $0, strlen($0), Int32(MSG_NOSIGNAL)) }
    var received: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65536)
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        let n = recv(fd, &buffer, buffer.count, 0)
        if n > 0 { received += buffer[0..<n] }
        if n == 0 { break }
        if let done, done(String(decoding: received, as: UTF8.self)) { break }
    }
    let text = String(decoding: received, as: UTF8.self)
    let status = text.split(separator: " ", maxSplits: 2).dropFirst().first.flatMap { Int($0) } ?? 0
    let body = text.range(of: "\r\n\r\n").map { String(text[$0.upperBound...]) } ?? ""
    return (status, body)
}
