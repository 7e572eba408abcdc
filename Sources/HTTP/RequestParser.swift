import Glibc

/// An incremental HTTP/1.x request parser: bytes in, in pieces of any size;
/// a head, body pieces and an end out, request after request (pipelining).
///
/// It is pure: the caller owns the bytes and drops what `parse` says it consumed.
/// A head is consumed only once complete, so a head split across reads is
/// re-offered from its start; the scan resumes where it stopped.
public struct RequestParser: Sendable {
    public enum Output: Equatable, Sendable {
        case head(RequestHead)
        /// Body bytes: this range of the buffer passed to `parse`, already de-chunked.
        case body(Range<Int>)
        /// The request is complete; the next bytes start a new request.
        case end
        case failure(HTTPError)
    }

    private enum State: Sendable {
        case head(scanned: Int)
        case endPending
        case fixedBody(remaining: UInt64)
        case chunkSize
        case chunkData(remaining: UInt64)
        case chunkDataEnd
        case trailers(scanned: Int)
        case failed
    }

    public let maxHeaderBytes: Int
    public let maxHeaderCount: Int
    private var state: State = .head(scanned: 0)

    public init(maxHeaderBytes: Int = 16 * 1024, maxHeaderCount: Int = 100) {
        self.maxHeaderBytes = maxHeaderBytes
        self.maxHeaderCount = maxHeaderCount
    }

    /// True between requests: nothing of a request has been consumed.
    public var isIdle: Bool {
        if case .head = state { return true }
        return false
    }

    /// Looks at `bytes` (unconsumed input, from its start) and returns how much of
    /// it was consumed and what was found; `output` is nil when more input is needed.
    public mutating func parse(_ bytes: UnsafeRawBufferPointer) -> (consumed: Int, output: Output?) {
        switch state {
        case .failed:
            return (0, nil)
        case .endPending:
            state = .head(scanned: 0)
            return (0, .end)
        case .head(let scanned):
            return parseHead(bytes, scanned: scanned)
        case .fixedBody(let remaining):
            if remaining == 0 {
                state = .head(scanned: 0)
                return (0, .end)
            }
            guard !bytes.isEmpty else { return (0, nil) }
            let n = Int(min(UInt64(bytes.count), remaining))
            state = remaining - UInt64(n) == 0 ? .endPending : .fixedBody(remaining: remaining - UInt64(n))
            return (n, .body(0..<n))
        case .chunkSize:
            return parseChunkSize(bytes)
        case .chunkData(let remaining):
            guard !bytes.isEmpty else { return (0, nil) }
            let n = Int(min(UInt64(bytes.count), remaining))
            state = remaining - UInt64(n) == 0 ? .chunkDataEnd : .chunkData(remaining: remaining - UInt64(n))
            return (n, .body(0..<n))
        case .chunkDataEnd:
            guard let lineEnd = Self.lineEnd(bytes, from: 0, limit: 2) else {
                return bytes.count >= 2 ? fail(400, "chunk not followed by CRLF") : (0, nil)
            }
            guard lineEnd.start == 0 else { return fail(400, "chunk not followed by CRLF") }
            state = .chunkSize
            return (lineEnd.next, nil)
        case .trailers(let scanned):
            return parseTrailers(bytes, scanned: scanned)
        }
    }

    // MARK: - head

    private mutating func parseHead(_ bytes: UnsafeRawBufferPointer, scanned: Int) -> (consumed: Int, output: Output?) {
        // Tolerate empty lines before a request line (RFC 9112 §2.2).
        var start = 0
        while start < bytes.count, bytes[start] == 0x0D || bytes[start] == 0x0A { start += 1 }
        if start > 0 && start == bytes.count { return (start, nil) }
        guard let end = Self.headEnd(bytes, from: max(start, scanned - 3)) else {
            // Up to 3 bytes here ("\r\n\r") may be the start of the blank line, which
            // does not count: the limit must not depend on where the reads split the head.
            if bytes.count - start - 3 > maxHeaderBytes { return fail(431, "request header section is over \(maxHeaderBytes / 1024) KiB") }
            state = .head(scanned: bytes.count)
            return (0, nil)
        }
        if end.start - start > maxHeaderBytes { return fail(431, "request header section is over \(maxHeaderBytes / 1024) KiB") }
        // One pass over the lines, with no array of them: the request line, then
        // each field, noting the two that frame the body as they go by.
        var position = start
        guard var head = Self.parseRequestLine(Self.line(bytes, from: &position, end: end.start)) else {
            return fail(400, "malformed request line")
        }
        if head.minorVersion < 0 { return fail(505, "only HTTP/1.0 and HTTP/1.1 are supported") }
        head.headers.reserveCapacity(8)
        var encodings: [String] = []
        var lengths: [String] = []
        while position <= end.start {
            if head.headers.count == maxHeaderCount { return fail(431, "more than \(maxHeaderCount) header fields") }
            guard let field = Self.parseField(Self.line(bytes, from: &position, end: end.start)) else {
                return fail(400, "malformed header field")
            }
            if RequestHead.sameName(field.name, "Content-Length") {
                lengths.append(field.value)
            } else if RequestHead.sameName(field.name, "Transfer-Encoding") {
                encodings.append(field.value)
            }
            head.headers.append(field)
        }
        // Body framing (RFC 9112 §6).
        if !encodings.isEmpty {
            if !lengths.isEmpty { return fail(400, "both Transfer-Encoding and Content-Length") }
            let codings = encodings.flatMap { $0.split(separator: ",") }.map { $0.trimmingSpaces().lowercased() }
            guard codings == ["chunked"] else { return fail(501, "unsupported Transfer-Encoding") }
            if head.minorVersion == 0 { return fail(400, "chunked body in an HTTP/1.0 request") }
            state = .chunkSize
        } else if !lengths.isEmpty {
            guard let length = ContentLength.parse(lengths) else { return fail(400, "malformed Content-Length") }
            state = .fixedBody(remaining: length)
        } else {
            state = .endPending
        }
        return (end.next, .head(head))
    }

    private static func parseRequestLine(_ line: Slice<UnsafeRawBufferPointer>) -> RequestHead? {
        // METHOD SP TARGET SP HTTP/x.y, with exactly two single spaces.
        guard let firstSpace = line.firstIndex(of: 0x20) else { return nil }
        let method = line[..<firstSpace]
        let rest = line[(firstSpace + 1)...]
        guard let secondSpace = rest.firstIndex(of: 0x20) else { return nil }
        let target = rest[..<secondSpace]
        let version = rest[(secondSpace + 1)...]
        guard !method.isEmpty, !target.isEmpty, method.allSatisfy(isTokenByte) else { return nil }
        // The target: visible ASCII only (no controls, no spaces).
        guard target.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else { return nil }
        let v = version.startIndex
        guard version.count == 8, line[v] == 0x48, line[v + 1] == 0x54, line[v + 2] == 0x54, line[v + 3] == 0x50,
            line[v + 4] == 0x2F, line[v + 6] == 0x2E, (0x30...0x39).contains(line[v + 5]), (0x30...0x39).contains(line[v + 7])
        else { return nil }
        // HTTP/1.x above 1.1 is answered as 1.1, the highest minor version we implement (RFC 9110 §6.2).
        let minor = line[v + 5] == 0x31 ? min(Int(line[v + 7] - 0x30), 1) : -1
        return RequestHead(
            method: String(decoding: method, as: UTF8.self),
            target: String(decoding: target, as: UTF8.self),
            minorVersion: minor)
    }

    private static func parseField(_ line: Slice<UnsafeRawBufferPointer>) -> (name: String, value: String)? {
        guard let colon = line.firstIndex(of: 0x3A), colon > line.startIndex else { return nil }
        let name = line[..<colon]
        guard name.allSatisfy(isTokenByte) else { return nil }
        var value = line[(colon + 1)...]
        while let f = value.first, f == 0x20 || f == 0x09 { value = value.dropFirst() }
        while let l = value.last, l == 0x20 || l == 0x09 { value = value.dropLast() }
        // No CR, LF or NUL inside a value; other bytes (obs-text) pass.
        guard !value.contains(where: { $0 == 0x00 || $0 == 0x0D || $0 == 0x0A }) else { return nil }
        return (String(decoding: name, as: UTF8.self), String(decoding: value, as: UTF8.self))
    }

    static func isTokenByte(_ b: UInt8) -> Bool {
        switch b {
        case 0x30...0x39, 0x41...0x5A, 0x61...0x7A: return true
        case UInt8(ascii: "!"), UInt8(ascii: "#"), UInt8(ascii: "$"), UInt8(ascii: "%"), UInt8(ascii: "&"),
            UInt8(ascii: "'"), UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."),
            UInt8(ascii: "^"), UInt8(ascii: "_"), UInt8(ascii: "`"), UInt8(ascii: "|"), UInt8(ascii: "~"):
            return true
        default: return false
        }
    }

    // MARK: - chunked body

    private mutating func parseChunkSize(_ bytes: UnsafeRawBufferPointer) -> (consumed: Int, output: Output?) {
        guard let le = Self.lineEnd(bytes, from: 0, limit: 1024) else {
            return bytes.count >= 1024 ? fail(400, "chunk size line too long") : (0, nil)
        }
        var line = bytes[0..<le.start]
        if let semicolon = line.firstIndex(of: 0x3B) { line = line[..<semicolon] }  // chunk extensions are ignored
        while let l = line.last, l == 0x20 || l == 0x09 { line = line.dropLast() }
        guard !line.isEmpty else { return fail(400, "malformed chunk size") }
        guard line.count <= 15 else { return fail(400, "chunk size too large") }
        var size: UInt64 = 0
        for b in line {
            guard let digit = Self.hexValue(b) else { return fail(400, "malformed chunk size") }
            size = size << 4 | UInt64(digit)
        }
        state = size == 0 ? .trailers(scanned: 0) : .chunkData(remaining: size)
        return (le.next, nil)
    }

    private mutating func parseTrailers(_ bytes: UnsafeRawBufferPointer, scanned: Int) -> (consumed: Int, output: Output?) {
        // The last chunk: either a CRLF right away or trailer fields ending in an empty line.
        if let le = Self.lineEnd(bytes, from: 0, limit: 2), le.start == 0 {
            state = .head(scanned: 0)
            return (le.next, .end)
        }
        guard let end = Self.headEnd(bytes, from: max(0, scanned - 3)) else {
            if bytes.count - 3 > maxHeaderBytes { return fail(431, "trailer section too large") }
            state = .trailers(scanned: bytes.count)
            return (0, nil)
        }
        // The same limit when the whole section arrived in one read.
        if end.start > maxHeaderBytes { return fail(431, "trailer section too large") }
        state = .head(scanned: 0)
        return (end.next, .end)
    }

    @usableFromInline
    static func hexValue(_ b: UInt8) -> UInt8? {
        switch b {
        case 0x30...0x39: return b - 0x30
        case 0x41...0x46: return b - 0x41 + 10
        case 0x61...0x66: return b - 0x61 + 10
        default: return nil
        }
    }

    // MARK: - scanning

    /// The line at `position` in a head section ending at `end`, without its
    /// LF or CRLF; moves `position` past it (beyond `end` after the last line).
    private static func line(_ bytes: UnsafeRawBufferPointer, from position: inout Int, end: Int) -> Slice<UnsafeRawBufferPointer> {
        let start = position
        var stop = start
        while stop < end, bytes[stop] != 0x0A { stop += 1 }
        position = stop + 1
        if stop > start, bytes[stop - 1] == 0x0D { stop -= 1 }
        return bytes[start..<stop]
    }

    /// The end of a line at or after `from`: where the line stops (before CR LF or
    /// LF) and where the next begins. Looks no further than `limit` bytes from `from`.
    static func lineEnd(_ bytes: UnsafeRawBufferPointer, from: Int, limit: Int) -> (start: Int, next: Int)? {
        var i = from
        let stop = min(bytes.count, from + max(limit, 0) + 1)
        while i < stop {
            if bytes[i] == 0x0A {
                let start = i > from && bytes[i - 1] == 0x0D ? i - 1 : i
                return (start, i + 1)
            }
            i += 1
        }
        return nil
    }

    /// The blank line that ends a header section: where the section's last line
    /// ends and where the body begins.
    static func headEnd(_ bytes: UnsafeRawBufferPointer, from: Int) -> (start: Int, next: Int)? {
        var i = max(from, 0)
        guard let base = bytes.baseAddress else { return nil }
        while i < bytes.count {
            // memchr finds each LF; only there can the section end.
            guard let found = memchr(base + i, 0x0A, bytes.count - i) else { return nil }
            i = base.distance(to: UnsafeRawPointer(found))
            // LF LF or LF CR LF ends the section.
            if i + 1 < bytes.count && bytes[i + 1] == 0x0A { return (i > 0 && bytes[i - 1] == 0x0D ? i - 1 : i, i + 2) }
            if i + 2 < bytes.count && bytes[i + 1] == 0x0D && bytes[i + 2] == 0x0A {
                return (i > 0 && bytes[i - 1] == 0x0D ? i - 1 : i, i + 3)
            }
            i += 1
        }
        return nil
    }

    private mutating func fail(_ status: Int, _ message: String) -> (consumed: Int, output: Output?) {
        state = .failed
        return (0, .failure(HTTPError(status, message)))
    }
}
