/// A RESP2 reply reader in the manner of hiredis's: fed bytes in pieces of any
/// size, it hands back one complete reply at a time, says it needs more, or
/// reports a protocol error (after which it stays failed).
///
/// It is pure and bounded: bulk strings, arrays, nesting and status lines have
/// limits, so a broken or hostile server cannot make it hold more than about
/// `maxBulkLength` plus what it was fed. An unfinished reply is resumed where it
/// stopped (a stack of open arrays), so a large reply arriving in many reads is
/// not parsed again from its start.
public struct RESPReader: Sendable {
    /// What `next()` found.
    public enum Output: Equatable, Sendable {
        case value(RESPValue)
        case needMore
        case failure(RESPProtocolError)
    }

    /// The bounds a reader enforces; a reply beyond them is a protocol error.
    public struct Limits: Sendable {
        /// Largest bulk string (Redis's own maximum is 512 MiB).
        public var maxBulkLength: Int
        /// Most elements in one array.
        public var maxArrayLength: Int
        /// Deepest nesting of arrays (an `XREAD` reply is 4 deep).
        public var maxDepth: Int
        /// Longest status, error or integer line.
        public var maxLineLength: Int

        public init(maxBulkLength: Int = 512 << 20, maxArrayLength: Int = 1 << 20, maxDepth: Int = 32, maxLineLength: Int = 64 << 10) {
            self.maxBulkLength = maxBulkLength
            self.maxArrayLength = maxArrayLength
            self.maxDepth = maxDepth
            self.maxLineLength = maxLineLength
        }
    }

    /// An array still being read: the elements so far and how many are missing.
    private struct Frame: Sendable {
        var elements: [RESPValue]
        var remaining: Int
    }

    /// What one item at the read position turned out to be.
    private enum Item {
        case incomplete
        case leaf(RESPValue, next: Int)
        case arrayHeader(count: Int, next: Int)
        case failure(RESPProtocolError)
    }

    public let limits: Limits
    private var buffer: [UInt8] = []
    /// The first byte not yet consumed.
    private var position = 0
    private var open: [Frame] = []
    private var failed: RESPProtocolError?

    public init(limits: Limits = Limits()) {
        self.limits = limits
    }

    /// Bytes fed and not yet consumed by a complete item.
    public var bufferedCount: Int { buffer.count - position }

    /// True when nothing of a reply has been read: no open array, no bytes waiting.
    public var isIdle: Bool { open.isEmpty && position == buffer.count }

    /// Adds bytes read from the server.
    public mutating func feed(_ bytes: UnsafeRawBufferPointer) {
        guard failed == nil, !bytes.isEmpty else { return }
        compact()
        buffer.append(contentsOf: bytes)
    }

    public mutating func feed<C: Collection<UInt8>>(_ bytes: C) {
        guard failed == nil, !bytes.isEmpty else { return }
        compact()
        buffer.append(contentsOf: bytes)
    }

    /// Drops consumed bytes when that is cheap or worth it.
    private mutating func compact() {
        if position == buffer.count {
            buffer.removeAll(keepingCapacity: buffer.capacity <= 1 << 20)
            position = 0
        } else if position >= 64 << 10 && position >= buffer.count / 2 {
            buffer.removeSubrange(0..<position)
            position = 0
        }
    }

    /// The next complete reply, `.needMore`, or the protocol error (again on every later call).
    public mutating func next() -> Output {
        if let failed { return .failure(failed) }
        while true {
            switch item(at: position) {
            case .incomplete:
                return .needMore
            case .failure(let error):
                return fail(error)
            case .arrayHeader(let count, let next):
                guard open.count < limits.maxDepth else {
                    return fail(RESPProtocolError("arrays nested deeper than \(limits.maxDepth)"))
                }
                position = next
                var elements: [RESPValue] = []
                // A count is only a claim: reserve for what is likely, grow with what arrives.
                elements.reserveCapacity(min(count, 64))
                open.append(Frame(elements: elements, remaining: count))
            case .leaf(var value, let next):
                position = next
                while !open.isEmpty {
                    let top = open.count - 1
                    open[top].elements.append(value)
                    open[top].remaining -= 1
                    guard open[top].remaining == 0 else { break }
                    value = .array(open.removeLast().elements)
                }
                if open.isEmpty { return .value(value) }
            }
        }
    }

    private mutating func fail(_ error: RESPProtocolError) -> Output {
        failed = error
        buffer = []
        position = 0
        open = []
        return .failure(error)
    }

    /// Reads the item that starts at `start` without consuming it.
    private func item(at start: Int) -> Item {
        buffer.withUnsafeBufferPointer { bytes in
            guard start < bytes.count else { return .incomplete }
            let type = bytes[start]
            switch type {
            case UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: ":"), UInt8(ascii: "$"), UInt8(ascii: "*"):
                break
            default:
                return .failure(RESPProtocolError("unexpected byte \(Self.show(type)) where a reply starts"))
            }
            // The line after the type byte, up to CR LF.
            let lineStart = start + 1
            let scanEnd = min(bytes.count, lineStart + limits.maxLineLength + 1)
            var cr = lineStart
            while cr < scanEnd && bytes[cr] != 13 {
                if bytes[cr] == 10 { return .failure(RESPProtocolError("line feed without carriage return")) }
                cr += 1
            }
            if cr == scanEnd {
                if cr - lineStart > limits.maxLineLength {
                    return .failure(RESPProtocolError("line longer than \(limits.maxLineLength) bytes"))
                }
                return .incomplete
            }
            guard cr + 1 < bytes.count else { return .incomplete }
            guard bytes[cr + 1] == 10 else { return .failure(RESPProtocolError("carriage return without line feed")) }
            let line = UnsafeBufferPointer(rebasing: bytes[lineStart..<cr])
            let next = cr + 2
            switch type {
            case UInt8(ascii: "+"):
                return .leaf(.simpleString(String(decoding: line, as: UTF8.self)), next: next)
            case UInt8(ascii: "-"):
                return .leaf(.error(String(decoding: line, as: UTF8.self)), next: next)
            case UInt8(ascii: ":"):
                guard let value = Self.integer(line) else { return .failure(RESPProtocolError("bad integer")) }
                return .leaf(.integer(value), next: next)
            case UInt8(ascii: "$"):
                guard let length = Self.integer(line), length >= -1 else { return .failure(RESPProtocolError("bad bulk length")) }
                if length == -1 { return .leaf(.bulkString(nil), next: next) }
                guard length <= limits.maxBulkLength else {
                    return .failure(RESPProtocolError("bulk string of \(length) bytes, over the limit of \(limits.maxBulkLength)"))
                }
                let end = next + Int(length)
                guard end + 2 <= bytes.count else { return .incomplete }
                guard bytes[end] == 13, bytes[end + 1] == 10 else {
                    return .failure(RESPProtocolError("bulk string not followed by CR LF"))
                }
                return .leaf(.bulkString(Array(bytes[next..<end])), next: end + 2)
            default:
                guard let count = Self.integer(line), count >= -1 else { return .failure(RESPProtocolError("bad array length")) }
                if count == -1 { return .leaf(.array(nil), next: next) }
                if count == 0 { return .leaf(.array([]), next: next) }
                guard count <= limits.maxArrayLength else {
                    return .failure(RESPProtocolError("array of \(count) elements, over the limit of \(limits.maxArrayLength)"))
                }
                return .arrayHeader(count: Int(count), next: next)
            }
        }
    }

    /// A decimal integer as Redis writes one: an optional `-` and 1 to 19
    /// digits, within Int64, no leading zero, no `-0` (one spelling per number).
    private static func integer(_ line: UnsafeBufferPointer<UInt8>) -> Int64? {
        var index = 0
        let negative = !line.isEmpty && line[0] == UInt8(ascii: "-")
        if negative { index = 1 }
        guard index < line.count, line.count - index <= 19 else { return nil }
        if line[index] == UInt8(ascii: "0") && (line.count - index > 1 || negative) { return nil }
        var value: Int64 = 0
        while index < line.count {
            let digit = line[index] &- UInt8(ascii: "0")
            guard digit < 10 else { return nil }
            let (times, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times.addingReportingOverflow(Int64(digit))
            guard !overflow1, !overflow2 else { return nil }
            value = sum
            index += 1
        }
        return negative ? -value : value
    }

    private static func show(_ byte: UInt8) -> String {
        byte >= 0x21 && byte < 0x7F ? "'\(Character(Unicode.Scalar(byte)))'" : "0x" + String(byte, radix: 16)
    }
}
