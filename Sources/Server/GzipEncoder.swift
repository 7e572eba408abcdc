import CShim

/// A gzip stream for one response: each `compress` call returns bytes that a
/// client can decode at once (Z_SYNC_FLUSH), so events are not held back.
final class GzipEncoder {
    private var stream = z_stream()
    private var ready = false
    private var scratch = [UInt8](repeating: 0, count: 16 * 1024)

    /// - Parameter memoryLevel: zlib's memLevel (1–9); streams use a small one,
    ///   since every subscriber holds its own state.
    init?(level: Int32 = 6, windowBits: Int32 = 15, memoryLevel: Int32 = 8) {
        // 16 + windowBits selects the gzip wrapper.
        guard shim_deflateInit2(&stream, level, 16 + windowBits, memoryLevel) == Z_OK else { return nil }
        ready = true
    }

    deinit {
        if ready { deflateEnd(&stream) }
    }

    /// Compresses `input` and flushes; returns the compressed bytes.
    func compress(_ input: UnsafeRawBufferPointer, finish: Bool = false) -> [UInt8] {
        var out: [UInt8] = []
        let flush = finish ? Z_FINISH : Z_SYNC_FLUSH
        stream.next_in = UnsafeMutablePointer(mutating: input.baseAddress?.assumingMemoryBound(to: Bytef.self))
        stream.avail_in = uInt(input.count)
        scratch.withUnsafeMutableBufferPointer { buffer in
            while true {
                stream.next_out = buffer.baseAddress
                stream.avail_out = uInt(buffer.count)
                let rc = deflate(&stream, flush)
                let produced = buffer.count - Int(stream.avail_out)
                out.append(contentsOf: buffer[0..<produced])
                if rc == Z_STREAM_END || rc == Z_STREAM_ERROR { break }
                // With room left over, zlib has flushed everything it had.
                if stream.avail_out != 0 && stream.avail_in == 0 { break }
            }
        }
        stream.next_in = nil
        return out
    }

    func compress(_ bytes: [UInt8], finish: Bool = false) -> [UInt8] {
        bytes.withUnsafeBytes { compress($0, finish: finish) }
    }

    /// The whole of `bytes` as one gzip member (static files).
    static func gzip(_ bytes: [UInt8]) -> [UInt8]? {
        guard let encoder = GzipEncoder(level: 6) else { return nil }
        return encoder.compress(bytes, finish: true)
    }
}
