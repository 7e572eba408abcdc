import Foundation
import Glibc
import Testing

@testable import Reactor

/// Runs `body` with a logger writing into a pipe; returns the lines written.
private func lines(format: LogFormat, timestamps: Bool? = nil, level: Logger.Level = .debug, _ body: (Logger) -> Void) -> [String] {
    var fds: [Int32] = [0, 0]
    pipe(&fds)
    let logger = Logger(level: level, fd: fds[1], format: format, timestamps: timestamps)
    body(logger)
    close(fds[1])
    var bytes: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 4096)
    while true {
        let n = read(fds[0], &buffer, buffer.count)
        if n <= 0 { break }
        bytes += buffer[0..<n]
    }
    close(fds[0])
    return String(decoding: bytes, as: UTF8.self).split(separator: "\n").map(String.init)
}

/// `2026-12-02T12:34:56.789Z`.
func isRFC3339(_ text: String) -> Bool {
    text.wholeMatch(of: #/\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z/#) != nil
}

@Suite("Logger")
struct LoggerTests {
    @Test("json lines parse, with time, level, msg and fields; the listening line is one of them")
    func jsonLines() throws {
        let written = lines(format: .json) { logger in
            logger.always("listening on http://127.0.0.1:8080")
            logger.warning("a \"quoted\"\nmessage\twith\u{1}control")
            logger.log(.info, "closed", fields: [("client", "127.0.0.1:5"), ("events", "3")])
        }
        #expect(written.count == 3)
        var objects: [[String: Any]] = []
        for line in written {
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            let time = try #require(object["time"] as? String)
            #expect(isRFC3339(time))
            objects.append(object)
        }
        #expect(objects[0]["msg"] as? String == "listening on http://127.0.0.1:8080")
        #expect(objects[0]["level"] as? String == "info")
        #expect(objects[1]["msg"] as? String == "a \"quoted\"\nmessage\twith\u{1}control")
        #expect(objects[1]["level"] as? String == "warning")
        #expect(objects[2]["client"] as? String == "127.0.0.1:5")
        #expect(objects[2]["events"] as? String == "3")
    }

    @Test("text lines carry a timestamp when asked (or not a terminal), but the listening line stays exact")
    func textLines() throws {
        let stamped = lines(format: .text) { logger in  // a pipe is not a terminal
            logger.always("listening on http://127.0.0.1:1")
            logger.error("boom")
            logger.debug("detail")
        }
        #expect(stamped[0] == "listening on http://127.0.0.1:1")
        let parts = stamped[1].split(separator: " ", maxSplits: 1)
        #expect(isRFC3339(String(parts[0])))
        #expect(parts[1] == "sse-serve: error: boom")
        #expect(stamped[2].hasSuffix(" sse-serve: detail"))
        let plain = lines(format: .text, timestamps: false, level: .info) { logger in
            logger.warning("careful")
            logger.debug("hidden")
        }
        #expect(plain == ["sse-serve: warning: careful"])
    }

    @Test("timestamps are UTC with milliseconds")
    func timestamp() {
        #expect(LogText.timestamp(millis: 0) == "1970-01-01T00:00:00.000Z")
        #expect(LogText.timestamp(millis: 1_795_321_778_234) == "2026-11-22T04:29:38.234Z")
        #expect(LogText.timestamp(millis: 951_782_400_007) == "2000-02-29T00:00:00.007Z")
    }
}
