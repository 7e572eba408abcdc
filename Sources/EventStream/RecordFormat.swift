/// How a byte stream (stdin, a tailed file, a command's output, a streaming
/// publish) is cut into events: `--format` and `?format=`.
public enum RecordFormat: String, Sendable, CaseIterable {
    /// Each line (LF or CRLF) is one event whose data is the line; empty lines are skipped.
    case line
    /// The input is itself an event stream: `event:`/`data:` blocks ending at a blank line.
    case sse
    /// Each line is a JSON object `{"channel"?, "event"?, "data"}`.
    case json
}
