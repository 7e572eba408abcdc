import Glibc

/// How log lines are written: plain text for people, or one JSON object per
/// line for log collectors (`--log-format text|json`).
public enum LogFormat: String, Sendable, CaseIterable {
    case text, json
}

/// The pieces every log line is made of: an RFC 3339 time and JSON string escaping.
public enum LogText {
    /// `2026-12-02T12:34:56.789Z`: UTC with milliseconds, from Unix milliseconds.
    public static func timestamp(millis: Int64) -> String {
        var seconds = time_t(millis / 1000)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func two(_ n: Int32) -> String { n < 10 ? "0\(n)" : "\(n)" }
        let ms = Int(millis % 1000)
        let msText = ms < 10 ? "00\(ms)" : ms < 100 ? "0\(ms)" : "\(ms)"
        return "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday))T"
            + "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)).\(msText)Z"
    }

    /// The current wall-clock time as `timestamp(millis:)` writes it.
    public static func now() -> String {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return timestamp(millis: Int64(spec.tv_sec) * 1000 + Int64(spec.tv_nsec / 1_000_000))
    }

    /// `text` as a JSON string literal, quotes included (control characters escaped,
    /// so a message with a newline still makes one line): the one JSON string
    /// escaper (`JSONText.quoted` is this without `escapingDelete`, which logs
    /// want so that a line stays safe on a terminal).
    public static func jsonString(_ text: String, escapingDelete: Bool = true) -> String {
        var out = "\""
        out.reserveCapacity(text.utf8.count + 2)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20 || escapingDelete && scalar.value == 0x7F:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
