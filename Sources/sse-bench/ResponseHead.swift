/// An incremental, allocation-free reader of an HTTP/1.1 response head. It keeps only what the
/// bench needs: the status code, whether the body is chunked, its Content-Length, and
/// `Connection: close`. Header names are matched case-insensitively as the bytes stream by.
struct ResponseHead {
    enum Outcome: Equatable {
        case needMore
        /// The head ended; the body starts at this offset of the bytes just fed.
        case complete(bodyStart: Int)
        case invalid
    }

    private(set) var status = 0
    private(set) var chunked = false
    private(set) var contentLength = -1
    private(set) var close = false

    private var size = 0
    private var last4: UInt32 = 0
    private var onStatusLine = true
    private var statusDigits = 0  // -1 before the first space, then digits read, 4 = past them
    private var column = 0  // position within the current header line
    private var candidates: UInt8 = 0b111  // header names still matching on this line
    private var valueOf: UInt8 = 0  // which header's value we are in: 1 TE, 2 CL, 3 Connection
    private var tokenMatch = 0  // progress through "chunked" or "close" inside a value

    private static let maxSize = 16 * 1024

    init() { statusDigits = -1 }

    mutating func feed(_ p: UnsafePointer<UInt8>, _ n: Int) -> Outcome {
        var i = 0
        while i < n {
            let b = p[i]
            i += 1
            size += 1
            last4 = last4 << 8 | UInt32(b)
            if last4 == 0x0D0A_0D0A || last4 & 0xFFFF == 0x0A0A {
                return status >= 100 ? .complete(bodyStart: i) : .invalid
            }
            if size > Self.maxSize { return .invalid }
            if b == 0x0A {
                onStatusLine = false
                column = 0
                candidates = 0b111
                valueOf = 0
                tokenMatch = 0
                continue
            }
            if b == 0x0D { continue }
            if onStatusLine {
                statusByte(b)
            } else {
                headerByte(b)
            }
        }
        return .needMore
    }

    private mutating func statusByte(_ b: UInt8) {
        if statusDigits == -1 {
            if b == 0x20 { statusDigits = 0 }
        } else if statusDigits < 3, b >= 0x30, b <= 0x39 {
            status = status * 10 + Int(b - 0x30)
            statusDigits += 1
        } else {
            statusDigits = 4
        }
    }

    private static let names: [StaticString] = ["transfer-encoding:", "content-length:", "connection:"]

    private mutating func headerByte(_ raw: UInt8) {
        let b = raw >= 0x41 && raw <= 0x5A ? raw | 0x20 : raw
        if valueOf == 0 {
            if candidates == 0 { return }
            for k in 0..<3 where candidates & (1 << k) != 0 {
                let name = Self.names[k]
                if column >= name.utf8CodeUnitCount || name.utf8Start[column] != b {
                    candidates &= ~(1 << k)
                } else if column + 1 == name.utf8CodeUnitCount {
                    valueOf = UInt8(k + 1)
                    if k == 1 { contentLength = 0 }
                }
            }
            column += 1
            return
        }
        switch valueOf {
        case 1: if match(b, "chunked") { chunked = true }
        case 2: if b >= 0x30 && b <= 0x39 { contentLength = contentLength * 10 + Int(b - 0x30) }
        default: if match(b, "close") { close = true }
        }
    }

    /// Rolling match of a token with no repeated first letter, so restarting on a mismatch is exact.
    private mutating func match(_ b: UInt8, _ token: StaticString) -> Bool {
        let t = token.utf8Start
        if t[tokenMatch] == b {
            tokenMatch += 1
        } else {
            tokenMatch = t[0] == b ? 1 : 0
        }
        if tokenMatch == token.utf8CodeUnitCount {
            tokenMatch = 0
            return true
        }
        return false
    }
}
