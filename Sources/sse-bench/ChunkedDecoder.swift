/// An incremental decoder of `Transfer-Encoding: chunked`. It hands out the payload pieces of
/// each buffer as ranges into it, so nothing is copied; the caller pulls them with `next`.
struct ChunkedDecoder {
    enum State: UInt8 { case size, extensionText, sizeLF, data, dataCR, dataLF, trailer, finished, invalid }

    private(set) var state = State.size
    private var remaining = 0
    private var sizeDigits = 0
    private var trailerLineEmpty = true

    /// The next payload range in `p[pos..<n]`, advancing `pos`; nil when the buffer is used up,
    /// the body finished (`state == .finished`) or the framing is broken (`state == .invalid`).
    mutating func next(_ p: UnsafePointer<UInt8>, _ n: Int, _ pos: inout Int) -> Range<Int>? {
        while pos < n {
            switch state {
            case .data:
                let take = min(remaining, n - pos)
                let r = pos..<pos + take
                pos += take
                remaining -= take
                if remaining == 0 { state = .dataCR }
                return r
            case .size:
                let b = p[pos]
                pos += 1
                if let v = Self.hex(b) {
                    remaining = remaining << 4 | v
                    sizeDigits += 1
                    if sizeDigits > 8 { state = .invalid }
                } else if b == 0x0D {
                    state = sizeDigits > 0 ? .sizeLF : .invalid
                } else if b == 0x3B || b == 0x20 || b == 0x09 {
                    state = sizeDigits > 0 ? .extensionText : .invalid
                } else {
                    state = .invalid
                }
            case .extensionText:
                if p[pos] == 0x0D { state = .sizeLF }
                pos += 1
            case .sizeLF:
                guard p[pos] == 0x0A else { state = .invalid; return nil }
                pos += 1
                sizeDigits = 0
                if remaining == 0 {
                    state = .trailer
                    trailerLineEmpty = true
                } else {
                    state = .data
                }
            case .dataCR:
                guard p[pos] == 0x0D else { state = .invalid; return nil }
                pos += 1
                state = .dataLF
            case .dataLF:
                guard p[pos] == 0x0A else { state = .invalid; return nil }
                pos += 1
                state = .size
            case .trailer:
                let b = p[pos]
                pos += 1
                if b == 0x0A {
                    if trailerLineEmpty { state = .finished; return nil }
                    trailerLineEmpty = true
                } else if b != 0x0D {
                    trailerLineEmpty = false
                }
            case .finished, .invalid:
                return nil
            }
        }
        return nil
    }

    @inline(__always)
    private static func hex(_ b: UInt8) -> Int? {
        switch b {
        case 0x30...0x39: return Int(b - 0x30)
        case 0x61...0x66: return Int(b - 0x61 + 10)
        case 0x41...0x46: return Int(b - 0x41 + 10)
        default: return nil
        }
    }
}
