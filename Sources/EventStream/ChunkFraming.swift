/// HTTP/1.1 chunked framing (RFC 9112 §7.1): `SIZE\r\n`, the bytes, `\r\n`;
/// `0\r\n\r\n` ends the body. Shared events are framed once when encoded; a
/// stream's own bytes (retry, notices, gzip output) are framed with these.
public enum ChunkFraming {
    /// `SIZE\r\n` (lower-case hex) for a chunk of `count` bytes.
    public static func head(_ count: Int) -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: EventEncoder.hexDigits(count) + 2) { buffer, initialized in
            var writer = EventEncoder.Writer(UnsafeMutableRawBufferPointer(buffer))
            writer.chunkHead(count)
            initialized = writer.offset
        }
    }

    /// What follows a chunk's bytes.
    public static let tail: [UInt8] = [0x0D, 0x0A]

    /// The last chunk, with no trailers: the end of the body.
    public static let last: [UInt8] = Array("0\r\n\r\n".utf8)
}
