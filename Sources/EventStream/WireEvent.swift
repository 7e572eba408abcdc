/// An event encoded once into its bytes on the wire, shared by every subscriber.
///
/// The bytes are one HTTP/1.1 chunk: `SIZE\r\n` + the event-stream block + `\r\n`,
/// so a chunked stream writes them as they are and an HTTP/1.0 stream (or a gzip
/// encoder) takes only the block in `body`.
public final class WireEvent: @unchecked Sendable {
    public let id: EventID
    /// The whole chunk.
    public let bytes: UnsafeMutableRawBufferPointer
    /// Where the event-stream block starts within `bytes`.
    public let bodyOffset: Int
    public let bodyCount: Int

    init(id: EventID, capacity: Int, fill: (UnsafeMutableRawBufferPointer) -> (bodyOffset: Int, bodyCount: Int, total: Int)) {
        self.id = id
        let storage = UnsafeMutableRawBufferPointer.allocate(byteCount: capacity, alignment: 1)
        let layout = fill(storage)
        self.bytes = UnsafeMutableRawBufferPointer(rebasing: storage[0..<layout.total])
        self.bodyOffset = layout.bodyOffset
        self.bodyCount = layout.bodyCount
    }

    deinit { bytes.deallocate() }

    public var body: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: bytes[bodyOffset..<(bodyOffset + bodyCount)])
    }

    /// The block as text, for tests and logs.
    public var bodyString: String { String(decoding: body, as: UTF8.self) }
}
