import EventStream
import Glibc
import HTTP

/// What a stream request asks for: channels, where to start, which events.
struct StreamRequest: Equatable {
    var channels: [String]
    /// The `Last-Event-ID` header, else the `lastEventId` query, as sent.
    var lastEventID: String?
    /// `?last=N`: start with the newest N buffered events.
    var last: Int?
    /// `?event=TYPE` (repeatable): only these types; nil for all.
    var eventTypes: Set<String>?
    /// `?poll=SEC`: answer once with JSON instead of streaming.
    var pollSeconds: Double?
}

/// What a request asks for, decided from its head alone.
enum Route: Equatable {
    /// `GET /events/{channel}` or `/events?channel=…`: a stream of these channels.
    case stream(StreamRequest)
    /// `POST`/`PUT /events/{channel}`.
    case publish(channel: String, eventType: String, format: RecordFormat?)
    /// `OPTIONS` on anything: a CORS preflight.
    case preflight
    case health
    /// `/readyz`: can the server publish (is its store reachable)?
    case ready
    /// `GET /presence/{channel}`: who is subscribed.
    case presence(channel: String)
    case metrics
    case channels
    /// A file under `--public`, by its decoded path.
    case file(path: String)
    case failure(status: Int, message: String, allow: String?)
}

/// Maps a request head to a `Route`: paths, methods, channel names, query parameters.
enum Router {
    static let streamMethods = "GET, HEAD, POST, PUT, OPTIONS"
    static let readMethods = "GET, HEAD, OPTIONS"
    /// Channels one stream may name.
    static let maxStreamChannels = 64
    /// The longest `?poll=` wait, in seconds.
    static let maxPollSeconds = 60.0

    static func route(_ head: RequestHead) -> Route {
        guard let query = Query.parse(head.rawQuery) else {
            return .failure(status: 400, message: "malformed query string", allow: nil)
        }
        guard head.target.utf8.first == 0x2F else {
            return .failure(status: 400, message: "request target must be a path", allow: nil)
        }
        guard let path = Query.percentDecode(head.rawPath) else {
            return .failure(status: 400, message: "malformed percent-encoding in path", allow: nil)
        }
        let method = head.method
        if method == "OPTIONS" { return .preflight }
        let isRead = method == "GET" || method == "HEAD"

        if path == "/events" || hasPrefix(path, "/events/") {
            let name = path == "/events" ? nil : String(path.utf8.dropFirst(8))
            switch method {
            case "GET", "HEAD":
                var channels: [String] = []
                if let name { channels.append(name) }
                for (key, value) in query where key == "channel" {
                    for part in value.split(separator: ",", omittingEmptySubsequences: false) { channels.append(String(part)) }
                }
                guard !channels.isEmpty else {
                    return .failure(status: 400, message: "name a channel: /events/{channel} or /events?channel=a&channel=b", allow: nil)
                }
                var seen = Set<String>()
                channels = channels.filter { seen.insert($0).inserted }
                if let bad = channels.first(where: { !ChannelName.isValid($0) }) {
                    return .failure(status: 400, message: PublishError.invalidChannel(bad).description, allow: nil)
                }
                guard channels.count <= maxStreamChannels else {
                    return .failure(status: 400, message: "a stream may name at most \(maxStreamChannels) channels", allow: nil)
                }
                // An empty header is no header (the query may still name an id).
                let header = head.header("Last-Event-ID").flatMap { $0.isEmpty ? nil : $0 }
                var request = StreamRequest(channels: channels, lastEventID: header ?? query.last(where: { $0.name == "lastEventId" })?.value)
                if let text = query.last(where: { $0.name == "last" })?.value {
                    guard let n = Int(text), n >= 0 else { return .failure(status: 400, message: "last must be a whole number ≥ 0", allow: nil) }
                    request.last = n
                }
                let types = query.filter { $0.name == "event" }.map(\.value)
                if !types.isEmpty {
                    guard types.allSatisfy({ Event.isValidType($0) }) else {
                        return .failure(status: 400, message: PublishError.invalidEventType("").description, allow: nil)
                    }
                    request.eventTypes = Set(types)
                }
                if let text = query.last(where: { $0.name == "poll" })?.value {
                    guard let seconds = Double(text), seconds >= 0, seconds <= maxPollSeconds else {
                        return .failure(status: 400, message: "poll must be seconds from 0 to \(Int(maxPollSeconds))", allow: nil)
                    }
                    request.pollSeconds = seconds
                }
                return .stream(request)
            case "POST", "PUT":
                guard let name else {
                    return .failure(status: 400, message: "publish to /events/{channel}", allow: nil)
                }
                guard ChannelName.isValid(name) else {
                    return .failure(status: 400, message: PublishError.invalidChannel(name).description, allow: nil)
                }
                let type = query.last(where: { $0.name == "event" })?.value ?? "message"
                guard Event.isValidType(type) else {
                    return .failure(status: 400, message: PublishError.invalidEventType(type).description, allow: nil)
                }
                var format: RecordFormat? = nil
                if let text = query.last(where: { $0.name == "format" })?.value {
                    guard let f = RecordFormat(rawValue: text) else {
                        return .failure(status: 400, message: "format must be line, sse or json", allow: nil)
                    }
                    format = f
                }
                return .publish(channel: name, eventType: type, format: format)
            default:
                return .failure(status: 405, message: "method \(method) not allowed here", allow: streamMethods)
            }
        }

        guard isRead else {
            return .failure(status: 405, message: "method \(method) not allowed here", allow: readMethods)
        }
        if hasPrefix(path, "/presence/") {
            let name = String(path.utf8.dropFirst(10))
            guard let name, ChannelName.isValid(name) else {
                return .failure(status: 400, message: PublishError.invalidChannel(name ?? "").description, allow: nil)
            }
            return .presence(channel: name)
        }
        switch path {
        case "/healthz": return .health
        case "/readyz": return .ready
        case "/metrics": return .metrics
        case "/channels": return .channels
        default: return .file(path: path)
        }
    }

    /// A byte-wise prefix test, on the contiguous bytes of a native string.
    private static func hasPrefix(_ text: String, _ prefix: StaticString) -> Bool {
        let wanted = UnsafeBufferPointer(start: prefix.utf8Start, count: prefix.utf8CodeUnitCount)
        return text.utf8.withContiguousStorageIfAvailable { bytes in
            bytes.count >= wanted.count && memcmp(bytes.baseAddress!, wanted.baseAddress!, wanted.count) == 0
        } ?? text.utf8.starts(with: wanted)
    }
}
