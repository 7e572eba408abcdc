/// An incremental HTTP/1.x response parser, the client's mirror of `RequestParser`:
/// bytes in, in pieces of any size; a head, body pieces and an end out, response
/// after response on a kept-alive connection.
///
/// It is pure: the caller owns the bytes and drops what `parse` says it consumed.
/// A head is consumed only once complete, so a head split across reads is
/// re-offered from its start; the scan resumes where it stopped. Interim `1xx`
/// responses (`100 Continue`) are consumed without output. The body is delimited
/// by `Content-Length`, chunked coding (extensions and trailers ignored) or the
/// end of the connection, which the caller reports with `finish()`; a response to
/// `HEAD`, and a `204` or `304`, has none (set `method` before its bytes arrive).
/// A `101` is returned as a head and an end; what follows it is not HTTP.
///
/// Failures carry status 502 (what a gateway answers for an upstream's bad
/// response) and a message saying what was wrong.
public struct ResponseParser: Sendable {
    public enum Output: Equatable, Sendable {
        case head(ResponseHead)
        /// Body bytes: this range of the buffer passed to `parse`, already de-chunked.
        case body(Range<Int>)
        /// The response is complete; the next bytes start a new response.
        case end
        case failure(HTTPError)
    }

    private enum State: Sendable {
        case head(scanned: Int)
        case endPending
        case fixedBody(remaining: UInt64)
        case untilClose
        case chunkSize
        case chunkData(remaining: UInt64)
        case chunkDataEnd
        case trailers(scanned: Int)
        case failed
    }

    public let maxHeaderBytes: Int
    public let maxHeaderCount: Int
    /// The most body bytes one response may have; the bytes up to it are delivered, then a failure.
    public let maxBodyBytes: UInt64
    /// The method of the request the next response answers: only `HEAD` matters.
    public var method: String
    private var state: State = .head(scanned: 0)
    private var bodyBytes: UInt64 = 0

    public init(method: String = "GET", maxHeaderBytes: Int = 16 * 1024, maxHeaderCount: Int = 100, maxBodyBytes: UInt64 = .max) {
        self.method = method
        self.maxHeaderBytes = maxHeaderBytes
        self.maxHeaderCount = maxHeaderCount
        self.maxBodyBytes = maxBodyBytes
    }

    /// True between responses: nothing of a response has been seen.
    public var isIdle: Bool {
        if case .head(let scanned) = state { return scanned == 0 }
        return false
    }

    /// Looks at `bytes` (unconsumed input, from its start) and returns how much of it
    /// was consumed and what was found. With no output, call again while something
    /// was consumed; nothing consumed and no output means more input is needed.
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
            guard !bytes.isEmpty else { return (0, nil) }
            guard let n = allowance(bytes.count, remaining) else { return bodyTooLarge() }
            state = remaining - UInt64(n) == 0 ? .endPending : .fixedBody(remaining: remaining - UInt64(n))
            return (n, .body(0..<n))
        case .untilClose:
            guard !bytes.isEmpty else { return (0, nil) }
            guard let n = allowance(bytes.count, .max) else { return bodyTooLarge() }
            return (n, .body(0..<n))
        case .chunkSize:
            return parseChunkSize(bytes)
        case .chunkData(let remaining):
            guard !bytes.isEmpty else { return (0, nil) }
            guard let n = allowance(bytes.count, remaining) else { return bodyTooLarge() }
            state = remaining - UInt64(n) == 0 ? .chunkDataEnd : .chunkData(remaining: remaining - UInt64(n))
            return (n, .body(0..<n))
        case .chunkDataEnd:
            guard let lineEnd = RequestParser.lineEnd(bytes, from: 0, limit: 2) else {
                return bytes.count >= 2 ? fail("chunk not followed by CRLF") : (0, nil)
            }
            guard lineEnd.start == 0 else { return fail("chunk not followed by CRLF") }
            state = .chunkSize
            return (lineEnd.next, nil)
        case .trailers(let scanned):
            return parseTrailers(bytes, scanned: scanned)
        }
    }

    /// The connection ended (read returned 0). Returns `.end` when that ends a body
    /// read until close, a failure when a response was cut short, nil between responses.
    /// Afterwards the parser is idle again, unless it had failed.
    public mutating func finish() -> Output? {
        switch state {
        case .failed:
            return nil
        case .head(let scanned):
            if scanned == 0 { return nil }
            state = .failed
            return .failure(HTTPError(502, "connection closed inside the response head"))
        case .endPending, .untilClose:
            state = .head(scanned: 0)
            return .end
        case .fixedBody, .chunkSize, .chunkData, .chunkDataEnd, .trailers:
            state = .failed
            return .failure(HTTPError(502, "connection closed before the response body ended"))
        }
    }

    /// How many of `available` body bytes to hand out now (at most `remaining`),
    /// or nil when the body limit leaves room for none.
    private mutating func allowance(_ available: Int, _ remaining: UInt64) -> Int? {
        let room = maxBodyBytes - bodyBytes
        guard room > 0 else { return nil }
        let n = Int(min(UInt64(available), remaining, room))
        bodyBytes += UInt64(n)
        return n
    }

    private mutating func bodyTooLarge() -> (consumed: Int, output: Output?) {
        fail("response body is over \(maxBodyBytes) bytes")
    }

    // MARK: - head

    private mutating func parseHead(_ bytes: UnsafeRawBufferPointer, scanned: Int) -> (consumed: Int, output: Output?) {
        // Tolerate empty lines before a status line, as servers send after a body.
        var start = 0
        while start < bytes.count, bytes[start] == 0x0D || bytes[start] == 0x0A { start += 1 }
        if start > 0 && start == bytes.count { return (start, nil) }
        guard let end = RequestParser.headEnd(bytes, from: max(start, scanned - 3)) else {
            // Up to 3 bytes ("\r\n\r") may be the start of the blank line, which does not
            // count: the limit must not depend on where the reads split the head.
            if bytes.count - start - 3 > maxHeaderBytes { return fail("response header section is over \(maxHeaderBytes) bytes") }
            state = .head(scanned: bytes.count)
            return (0, nil)
        }
        if end.start - start > maxHeaderBytes { return fail("response header section is over \(maxHeaderBytes) bytes") }
        let lines = bytes[start..<end.start].split(separator: 0x0A, omittingEmptySubsequences: false).map { line in
            line.last == 0x0D ? line.dropLast() : line
        }
        guard let statusLine = lines.first, var head = Self.parseStatusLine(statusLine) else {
            return fail("malformed status line")
        }
        if lines.count - 1 > maxHeaderCount { return fail("more than \(maxHeaderCount) response header fields") }
        for line in lines.dropFirst() {
            guard let field = Self.parseField(line) else { return fail("malformed response header field") }
            head.headers.append(field)
        }
        if head.status < 200 && head.status != 101 {
            // An interim response: the final one follows.
            state = .head(scanned: 0)
            return (end.next, nil)
        }
        // Body framing (RFC 9112 §6.3).
        let encodings = head.headerValues("Transfer-Encoding")
        let lengths = head.headerValues("Content-Length")
        bodyBytes = 0
        if head.status == 101 || head.status == 204 || head.status == 304 || Self.isHead(method) {
            head.framing = .none
            state = .endPending
        } else if !encodings.isEmpty {
            // Transfer-Encoding overrides Content-Length. No coding was asked for, so
            // chunked is the only one we can undo.
            let codings = encodings.flatMap { $0.split(separator: ",") }.map { $0.trimmingSpaces().lowercased() }
            guard codings == ["chunked"] else { return fail("unsupported Transfer-Encoding \(codings.joined(separator: ", "))") }
            head.framing = .chunked
            state = .chunkSize
        } else if !lengths.isEmpty {
            guard let length = ContentLength.parse(lengths) else { return fail("malformed Content-Length") }
            head.framing = .length(length)
            state = length == 0 ? .endPending : .fixedBody(remaining: length)
        } else {
            head.framing = .untilClose
            state = .untilClose
        }
        return (end.next, .head(head))
    }

    private static func isHead(_ method: String) -> Bool {
        method.utf8.count == 4 && method.uppercased() == "HEAD"
    }

    /// `HTTP/1.x SP 3DIGIT [SP reason]`; a missing reason (and its space) is tolerated.
    private static func parseStatusLine(_ line: Slice<UnsafeRawBufferPointer>) -> ResponseHead? {
        let bytes = Array(line)
        guard bytes.count >= 12, bytes.starts(with: Array("HTTP/1.".utf8)), (0x30...0x39).contains(bytes[7]), bytes[8] == 0x20
        else { return nil }
        let digits = bytes[9..<12]
        guard digits.allSatisfy({ (0x30...0x39).contains($0) }), bytes[9] != 0x30 else { return nil }
        let status = digits.reduce(0) { $0 * 10 + Int($1 - 0x30) }
        var reason = bytes[12...]
        if let first = reason.first {
            guard first == 0x20 else { return nil }
            reason = reason.dropFirst()
        }
        // Visible text, spaces and tabs (and obs-text); no controls.
        guard !reason.contains(where: { ($0 < 0x20 && $0 != 0x09) || $0 == 0x7F }) else { return nil }
        return ResponseHead(
            status: status, reason: String(decoding: reason, as: UTF8.self), minorVersion: min(Int(bytes[7] - 0x30), 1))
    }

    private static func parseField(_ line: Slice<UnsafeRawBufferPointer>) -> (name: String, value: String)? {
        guard let colon = line.firstIndex(of: 0x3A), colon > line.startIndex else { return nil }
        let name = line[..<colon]
        guard name.allSatisfy(RequestParser.isTokenByte) else { return nil }
        var value = line[(colon + 1)...]
        while let f = value.first, f == 0x20 || f == 0x09 { value = value.dropFirst() }
        while let l = value.last, l == 0x20 || l == 0x09 { value = value.dropLast() }
        guard !value.contains(where: { $0 == 0x00 || $0 == 0x0D || $0 == 0x0A }) else { return nil }
        return (String(decoding: name, as: UTF8.self), String(decoding: value, as: UTF8.self))
    }

    // MARK: - chunked body

    private mutating func parseChunkSize(_ bytes: UnsafeRawBufferPointer) -> (consumed: Int, output: Output?) {
        guard let le = RequestParser.lineEnd(bytes, from: 0, limit: 1024) else {
            return bytes.count >= 1024 ? fail("chunk size line too long") : (0, nil)
        }
        var line = bytes[0..<le.start]
        if let semicolon = line.firstIndex(of: 0x3B) { line = line[..<semicolon] }  // chunk extensions are ignored
        while let l = line.last, l == 0x20 || l == 0x09 { line = line.dropLast() }
        guard !line.isEmpty else { return fail("malformed chunk size") }
        guard line.count <= 15 else { return fail("chunk size too large") }
        var size: UInt64 = 0
        for b in line {
            guard let digit = RequestParser.hexValue(b) else { return fail("malformed chunk size") }
            size = size << 4 | UInt64(digit)
        }
        state = size == 0 ? .trailers(scanned: 0) : .chunkData(remaining: size)
        return (le.next, nil)
    }

    private mutating func parseTrailers(_ bytes: UnsafeRawBufferPointer, scanned: Int) -> (consumed: Int, output: Output?) {
        // The last chunk: either a CRLF right away or trailer fields ending in an empty line.
        if let le = RequestParser.lineEnd(bytes, from: 0, limit: 2), le.start == 0 {
            state = .head(scanned: 0)
            return (le.next, .end)
        }
        guard let end = RequestParser.headEnd(bytes, from: max(0, scanned - 3)) else {
            if bytes.count - 3 > maxHeaderBytes { return fail("trailer section too large") }
            state = .trailers(scanned: bytes.count)
            return (0, nil)
        }
        if end.start > maxHeaderBytes { return fail("trailer section too large") }
        state = .head(scanned: 0)
        return (end.next, .end)
    }

    private mutating func fail(_ message: String) -> (consumed: Int, output: Output?) {
        state = .failed
        return (0, .failure(HTTPError(502, message)))
    }
}
