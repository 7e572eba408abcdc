/// The data of an `sse-gap` event: which channels lost events a subscriber
/// will never see, and where each resumes. JSON, built in one place.
public enum GapNotice {
    /// One channel's part of the notice.
    public struct Loss: Sendable {
        public var channel: String
        /// The newest id that was lost, when known.
        public var lostThrough: EventID?
        /// The first id the stream goes on with; nil when nothing is buffered.
        public var resumesAt: EventID?

        public init(channel: String, lostThrough: EventID? = nil, resumesAt: EventID?) {
            self.channel = channel
            self.lostThrough = lostThrough
            self.resumesAt = resumesAt
        }
    }

    /// Channel names and ids need no JSON escaping: their alphabets have no `"`
    /// or `\`. `lastEventID` is the client's own text, escaped.
    public static func data(lastEventID: String? = nil, losses: [Loss], message: String) -> String {
        let channels = losses.map { loss in
            let lost = loss.lostThrough.map { ",\"lostThrough\":\"\($0)\"" } ?? ""
            let resumes = loss.resumesAt.map { "\"\($0)\"" } ?? "null"
            return "{\"channel\":\"\(loss.channel)\"\(lost),\"resumesAt\":\(resumes)}"
        }
        let last = lastEventID.map { "\"lastEventId\":\(JSONText.quoted($0))," } ?? ""
        return "{\(last)\"channels\":[\(channels.joined(separator: ","))],\"message\":\"\(message)\"}"
    }
}
