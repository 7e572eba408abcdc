import Glibc

/// Writes short human-readable lines to standard error, filtered by level.
///
/// One `write(2)` per line so lines from several threads never interleave.
public final class Logger: @unchecked Sendable {
    public enum Level: Int, Comparable, Sendable {
        case error = 0, warning, info, debug
        public static func < (a: Level, b: Level) -> Bool { a.rawValue < b.rawValue }
    }

    public let level: Level
    private let fd: Int32

    public init(level: Level = .info, fd: Int32 = 2) {
        self.level = level
        self.fd = fd
    }

    /// A logger that drops everything, for tests.
    public static let silent = Logger(level: .error, fd: -1)

    public func enabled(_ l: Level) -> Bool { fd >= 0 && l <= level }

    public func error(_ message: @autoclosure () -> String) { log(.error, message()) }
    public func warning(_ message: @autoclosure () -> String) { log(.warning, message()) }
    public func info(_ message: @autoclosure () -> String) { log(.info, message()) }
    public func debug(_ message: @autoclosure () -> String) { log(.debug, message()) }

    /// Writes the line whatever the level (used for the `listening on` line).
    public func always(_ message: String) { write(message) }

    private func log(_ l: Level, _ message: String) {
        guard enabled(l) else { return }
        let prefix: String
        switch l {
        case .error: prefix = "error: "
        case .warning: prefix = "warning: "
        default: prefix = ""
        }
        write("sse-serve: " + prefix + message)
    }

    private func write(_ line: String) {
        guard fd >= 0 else { return }
        var bytes = Array(line.utf8)
        bytes.append(0x0A)
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
