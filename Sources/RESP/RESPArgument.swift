/// Something that can be one argument of a command: written as a RESP bulk string.
public protocol RESPArgument {
    /// Appends `$LENGTH\r\nBYTES\r\n`.
    func appendBulk(to buffer: inout [UInt8])
}

extension RESPArgument {
    @inline(__always)
    static func appendBulk<C: Collection<UInt8>>(_ bytes: C, to buffer: inout [UInt8]) {
        buffer.append(UInt8(ascii: "$"))
        RESPCommand.appendDecimal(UInt64(bytes.count), to: &buffer)
        buffer.append(13)
        buffer.append(10)
        buffer.append(contentsOf: bytes)
        buffer.append(13)
        buffer.append(10)
    }
}

extension String: RESPArgument {
    public func appendBulk(to buffer: inout [UInt8]) { Self.appendBulk(utf8, to: &buffer) }
}

extension Substring: RESPArgument {
    public func appendBulk(to buffer: inout [UInt8]) { Self.appendBulk(utf8, to: &buffer) }
}

extension Array: RESPArgument where Element == UInt8 {
    public func appendBulk(to buffer: inout [UInt8]) { Self.appendBulk(self, to: &buffer) }
}

extension ArraySlice: RESPArgument where Element == UInt8 {
    public func appendBulk(to buffer: inout [UInt8]) { Self.appendBulk(self, to: &buffer) }
}

extension Int: RESPArgument {
    /// The decimal digits, written straight into the buffer.
    public func appendBulk(to buffer: inout [UInt8]) {
        let digits = RESPCommand.decimalDigits(UInt64(magnitude)) + (self < 0 ? 1 : 0)
        buffer.append(UInt8(ascii: "$"))
        RESPCommand.appendDecimal(UInt64(digits), to: &buffer)
        buffer.append(13)
        buffer.append(10)
        if self < 0 { buffer.append(UInt8(ascii: "-")) }
        RESPCommand.appendDecimal(UInt64(magnitude), to: &buffer)
        buffer.append(13)
        buffer.append(10)
    }
}

extension UInt64: RESPArgument {
    public func appendBulk(to buffer: inout [UInt8]) {
        buffer.append(UInt8(ascii: "$"))
        RESPCommand.appendDecimal(UInt64(RESPCommand.decimalDigits(self)), to: &buffer)
        buffer.append(13)
        buffer.append(10)
        RESPCommand.appendDecimal(self, to: &buffer)
        buffer.append(13)
        buffer.append(10)
    }
}
