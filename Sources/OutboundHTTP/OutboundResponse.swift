import HTTP

/// A complete response to an `OutboundRequest`: status, headers, body.
public struct OutboundResponse: Sendable {
    /// The status line and header fields as received.
    public var head: ResponseHead
    public var body: [UInt8]

    public init(head: ResponseHead, body: [UInt8]) {
        self.head = head
        self.body = body
    }

    public var status: Int { head.status }

    /// The first value of header `name`, compared without regard to case.
    public func header(_ name: String) -> String? { head.header(name) }

    /// Every value of header `name` (case-insensitive), in order.
    public func headerValues(_ name: String) -> [String] { head.headerValues(name) }

    /// The body as UTF-8 text (invalid sequences become U+FFFD).
    public var text: String { String(decoding: body, as: UTF8.self) }
}
