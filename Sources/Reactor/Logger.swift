import Glibc

/// Writes log lines to standard error, filtered by level: text for people
/// (`sse-serve: warning: …`) or one JSON object per line
/// (`{"time","level","msg"}` plus fields), with RFC 3339 UTC timestamps
/// when asked, always in JSON.
///
/// One `write(2)` per line so lines from several threads never interleave.
public final class Logger: @unchecked Sendable {
    public enum Level: Int, Comparable, Sendable {
        case error = 0, warning, info, debug
        public static func < (a: Level, b: Level) -> Bool { a.rawValue < b.rawValue }

        var name: String {
            switch self {
            case .error: "error"
            case .warning: "warning"
            case .info: "info"
            case .debug: "debug"
            }
        }
    }

    public let level: Level
    public let format: LogFormat
    /// Whether text lines start with a timestamp (JSON lines always carry one).
    public let timestamps: Bool
    private let fd: Int32

    /// `timestamps` nil: on when `fd` is not a terminal (a file, a pipe, journald),
    /// where lines are read later and need their time.
    public init(level: Level = .info, fd: Int32 = 2, format: LogFormat = .text, timestamps: Bool? = nil) {
        self.level = level
        self.fd = fd
        self.format = format
        self.timestamps = timestamps ?? (fd >= 0 && isatty(fd) == 0)
    }

    /// A logger that drops everything, for tests.
    public static let silent = Logger(level: .error, fd: -1)

    public func enabled(_ l: Level) -> Bool { fd >= 0 && l <= level }

    public func error(_ message: @autoclosure () -> String) { log(.error, message()) }
    public func warning(_ message: @autoclosure () -> String) { log(.warning, message()) }
    public func info(_ message: @autoclosure () -> String) { log(.info, message()) }
    public func debug(_ message: @autoclosure () -> String) { log(.debug, message()) }

    /// Writes the line whatever the level. In text it is written exactly as
    /// given, with no prefix and no timestamp: `listening on http://HOST:PORT`
    /// is read by scripts and tests.
    public func always(_ message: String) {
        guard fd >= 0 else { return }
        switch format {
        case .text: write(message)
        case .json: write(jsonLine(.info, message, fields: []))
        }
    }

    /// A line at `l` with extra named values (JSON members, or `name=value` in text).
    public func log(_ l: Level, _ message: String, fields: [(String, String)] = []) {
        guard enabled(l) else { return }
        switch format {
        case .json:
            write(jsonLine(l, message, fields: fields))
        case .text:
            var line = timestamps ? LogText.now() + " " : ""
            line += "sse-serve: "
            if l == .error || l == .warning { line += l.name + ": " }
            line += message
            for (name, value) in fields { line += " \(name)=\(value)" }
            write(line)
        }
    }

    private func jsonLine(_ l: Level, _ message: String, fields: [(String, String)]) -> String {
        var line = "{\"time\":\"\(LogText.now())\",\"level\":\"\(l.name)\",\"msg\":\(LogText.jsonString(message))"
        for (name, value) in fields { line += ",\(LogText.jsonString(name)):\(LogText.jsonString(value))" }
        return line + "}"
    }

    private func write(_ line: String) {
        guard fd >= 0 else { return }
        var bytes = Array(line.utf8)
        bytes.append(0x0A)
        Self.writeAll(fd, bytes)
    }

    /// Writes every byte (one `write(2)` unless the kernel takes less), retrying EINTR.
    public static func writeAll(_ fd: Int32, _ bytes: [UInt8]) {
        bytes.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = Glibc.write(fd, raw.baseAddress! + offset, raw.count - offset)
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { return }
                offset += n
            }
        }
    }
}
