/// Writes commands the way Redis reads them: an array of bulk strings, appended
/// straight to an output buffer (no intermediate strings or arrays of bytes).
public enum RESPCommand {
    /// Appends `*N\r\n` and each argument as a bulk string.
    public static func append(_ arguments: [any RESPArgument], to buffer: inout [UInt8]) {
        buffer.append(UInt8(ascii: "*"))
        appendDecimal(UInt64(arguments.count), to: &buffer)
        buffer.append(13)
        buffer.append(10)
        for argument in arguments { argument.appendBulk(to: &buffer) }
    }

    /// The bytes of one command, e.g. `encode(["SET", "k", "v"])`.
    public static func encode(_ arguments: [any RESPArgument]) -> [UInt8] {
        var buffer: [UInt8] = []
        append(arguments, to: &buffer)
        return buffer
    }

    /// How many decimal digits `value` has.
    @inline(__always)
    static func decimalDigits(_ value: UInt64) -> Int {
        var digits = 1
        var rest = value
        while rest >= 10 {
            rest /= 10
            digits += 1
        }
        return digits
    }

    /// Appends `value` in decimal without going through a String.
    @inline(__always)
    static func appendDecimal(_ value: UInt64, to buffer: inout [UInt8]) {
        let digits = decimalDigits(value)
        let start = buffer.count
        buffer.append(contentsOf: repeatElement(UInt8(ascii: "0"), count: digits))
        var rest = value
        var index = start + digits - 1
        repeat {
            buffer[index] = UInt8(ascii: "0") + UInt8(rest % 10)
            rest /= 10
            index -= 1
        } while rest > 0
    }
}
