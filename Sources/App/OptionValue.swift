/// The text given for an option, on the command line or in its variable, with
/// the checks that turn it into a number, a duration, a size or a choice. Errors
/// name where the text came from (`--port` or `SSE_PORT`).
struct OptionValue: Sendable {
    let text: String
    /// `--port` or `SSE_PORT`, for messages.
    let origin: String

    typealias UsageError = CommandLineOptions.UsageError

    func fail(_ expected: String) -> UsageError {
        UsageError(message: "\(origin): expected \(expected), got '\(text)'")
    }

    /// A flag: present on the command line, or a variable of 1/true/yes or 0/false/no.
    func flag() throws(UsageError) -> Bool {
        switch text.lowercased() {
        case "1", "true", "yes", "on": return true
        case "0", "false", "no", "off": return false
        default: throw fail("1, true, yes, 0, false or no")
        }
    }

    func integer(_ range: ClosedRange<Int>) throws(UsageError) -> Int {
        guard let number = Int(text), range.contains(number) else {
            throw fail("a whole number from \(range.lowerBound) to \(range.upperBound)")
        }
        return number
    }

    /// Seconds, fractions allowed; `positive` refuses 0.
    func seconds(positive: Bool = false) throws(UsageError) -> Double {
        guard let number = Double(text), number >= 0, number <= 86_400 * 365, !positive || number > 0 else {
            throw fail(positive ? "seconds (a number > 0)" : "seconds (a number ≥ 0)")
        }
        return number
    }

    /// Bytes: a whole number, optionally followed by K, M or G (powers of 1024).
    func bytes() throws(UsageError) -> Int {
        var digits = Substring(text)
        var scale = 1
        switch digits.last {
        case "K", "k": scale = 1 << 10
        case "M", "m": scale = 1 << 20
        case "G", "g": scale = 1 << 30
        default: break
        }
        if scale > 1 { digits = digits.dropLast() }
        guard let number = Int(digits), number > 0, number <= (1 << 50) / scale else {
            throw fail("a size in bytes, optionally with K, M or G (e.g. 512M)")
        }
        return number * scale
    }

    /// Non-empty text; nil for an empty value (which means "none").
    var optionalText: String? { text.isEmpty ? nil : text }

    /// An `http://` URL. `https://` is refused with the way round it: TLS is
    /// not built in.
    func httpURL() throws(UsageError) -> String {
        let lower = text.lowercased()
        if lower.hasPrefix("https://") {
            throw UsageError(
                message: "\(origin): TLS is not built in; put a local TLS proxy in front (e.g. stunnel, nginx or socat "
                    + "on 127.0.0.1) and give its http:// address, got '\(text)'")
        }
        guard lower.hasPrefix("http://"), text.count > "http://".count else { throw fail("an http:// URL") }
        return text
    }
}
