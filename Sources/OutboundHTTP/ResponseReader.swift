import HTTP

/// One connection's response side as a pure state machine over `ResponseParser`:
/// bytes in, in pieces of any size; the head and the body pieces out through a
/// callback, then how the response ended. It keeps the bytes a read left over
/// (a head cut in two) for the next call.
///
/// The end and failures are returned rather than called back, so the caller
/// acts on them (reusing or closing the connection) after the reader is done.
public struct ResponseReader: Sendable {
    /// What the reader hands on while reading.
    public enum Piece {
        case head(ResponseHead)
        /// Body bytes, de-chunked; valid only during the call.
        case body(UnsafeRawBufferPointer)
    }

    /// How a `feed` or `finish` left the response.
    public enum Outcome: Equatable, Sendable {
        /// The response goes on; more bytes are needed.
        case needMore
        /// The response is complete; `trailingBytes` when more bytes followed it,
        /// which leaves the connection unfit for another request.
        case end(trailingBytes: Bool)
        case failure(HTTPError)
        /// The callback asked to stop reading.
        case stopped
        /// `finish` before any byte of a response.
        case nothing
    }

    private var parser: ResponseParser
    private var pending: [UInt8] = []

    public init(method: String, maxHeaderBytes: Int, maxBodyBytes: UInt64) {
        parser = ResponseParser(method: method, maxHeaderBytes: maxHeaderBytes, maxBodyBytes: maxBodyBytes)
    }

    /// Reads `bytes`; `emit` gets the head and each body piece and returns false
    /// to stop (the caller abandoned the response).
    public mutating func feed(_ bytes: UnsafeRawBufferPointer, _ emit: (Piece) -> Bool) -> Outcome {
        if pending.isEmpty {
            let (used, outcome) = process(bytes, emit)
            if outcome == .needMore && used < bytes.count { pending.append(contentsOf: bytes[used...]) }
            return outcome
        }
        var data = pending
        pending = []
        data.append(contentsOf: bytes)
        let (used, outcome) = data.withUnsafeBytes { process($0, emit) }
        if outcome == .needMore && used < data.count {
            data.removeFirst(used)
            pending = data
        }
        return outcome
    }

    /// The connection ended (read returned 0).
    public mutating func finish() -> Outcome {
        switch parser.finish() {
        case .end?: return .end(trailingBytes: false)
        case .failure(let error)?: return .failure(error)
        default: return .nothing
        }
    }

    private mutating func process(_ buffer: UnsafeRawBufferPointer, _ emit: (Piece) -> Bool) -> (Int, Outcome) {
        var offset = 0
        while true {
            let base = offset
            let (consumed, output) = parser.parse(UnsafeRawBufferPointer(rebasing: buffer[base...]))
            offset += consumed
            guard let output else {
                if consumed == 0 { return (offset, .needMore) }
                continue
            }
            switch output {
            case .head(let head):
                if !emit(.head(head)) { return (offset, .stopped) }
            case .body(let range):
                let piece = UnsafeRawBufferPointer(rebasing: buffer[(base + range.lowerBound)..<(base + range.upperBound)])
                if !emit(.body(piece)) { return (offset, .stopped) }
            case .end:
                return (offset, .end(trailingBytes: offset < buffer.count))
            case .failure(let error):
                return (offset, .failure(error))
            }
        }
    }
}
