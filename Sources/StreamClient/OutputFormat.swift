import EventStream

/// How `sse-cat` prints each event.
public enum OutputFormat: String, Sendable, CaseIterable {
    /// `{"id"?, "event", "data"}` per line, which `sse-serve --format json` reads back.
    case json
    /// The data alone (several lines when it has several).
    case data
    /// Event-stream format again: `id:` when the event had one, `event:` unless `message`, `data:` lines, a blank line.
    case sse

    /// Appends the event as printed.
    public func append(_ event: ParsedEvent, to out: inout [UInt8]) {
        switch self {
        case .json:
            ClientEventJSON.append(event, to: &out)
        case .data:
            out.append(contentsOf: event.data.utf8)
            out.append(0x0A)
        case .sse:
            if let id = event.id {
                out.append(contentsOf: "id: ".utf8)
                out.append(contentsOf: id.utf8)
                out.append(0x0A)
            }
            if event.type != "message" {
                out.append(contentsOf: "event: ".utf8)
                out.append(contentsOf: event.type.utf8)
                out.append(0x0A)
            }
            // Parsed data holds no CR, and LF only between its lines.
            for line in event.data.utf8.split(separator: 0x0A, omittingEmptySubsequences: false) {
                out.append(contentsOf: "data: ".utf8)
                out.append(contentsOf: line)
                out.append(0x0A)
            }
            out.append(0x0A)
        }
    }
}
