/// One parsed record: the event, and the channel it names (json records only).
public struct Record: Sendable, Equatable {
    /// The channel the record routes itself to; nil means the source's own channel.
    public var channel: String?
    public var event: Event

    public init(channel: String? = nil, event: Event) {
        self.channel = channel
        self.event = event
    }
}
