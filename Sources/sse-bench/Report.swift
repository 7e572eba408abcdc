/// The outcome of one run as ordered key/value pairs: printed as a table for people and as one
/// JSON line for scripts (`sse-bench compare` reads those lines back).
struct Report {
    /// A report value.
    enum Value {
        case int(Int64)
        case number(Double, decimals: Int)
        case text(String)
        case flag(Bool)

        var json: String {
            switch self {
            case .int(let v): return "\(v)"
            case .number(let v, let d): return v.isFinite ? Report.fixed(v, d) : "null"
            case .text(let s): return "\"" + s.replacingAll("\\", with: "\\\\").replacingAll("\"", with: "\\\"") + "\""
            case .flag(let b): return b ? "true" : "false"
            }
        }

        var display: String {
            switch self {
            case .text(let s): return s
            default: return json
            }
        }
    }

    private(set) var entries: [(key: String, value: Value, note: String)] = []

    mutating func add(_ key: String, _ value: Value, _ note: String = "") {
        entries.append((key, value, note))
    }

    var jsonLine: String {
        "{" + entries.map { "\"\($0.key)\":\($0.value.json)" }.joined(separator: ",") + "}"
    }

    var table: String {
        let width = entries.map(\.key.count).max() ?? 0
        let valueWidth = entries.map(\.value.display.count).max() ?? 0
        return entries.map { e in
            let k = e.key + String(repeating: " ", count: width - e.key.count)
            let v = String(repeating: " ", count: max(valueWidth - e.value.display.count, 0)) + e.value.display
            return "  \(k)  \(v)" + (e.note.isEmpty ? "" : "  \(e.note)")
        }.joined(separator: "\n")
    }

    /// `v` with exactly `decimals` digits after the point (no Foundation here).
    static func fixed(_ v: Double, _ decimals: Int) -> String {
        var scale = 1.0
        for _ in 0..<decimals { scale *= 10 }
        let negative = v < 0
        let scaled = (abs(v) * scale).rounded()
        guard scaled < 9e18 else { return "\(v)" }
        let whole = Int64(scaled)
        let intPart = whole / Int64(scale)
        var frac = String(whole % Int64(scale))
        while frac.count < decimals { frac = "0" + frac }
        return (negative && whole != 0 ? "-" : "") + "\(intPart)" + (decimals > 0 ? "." + frac : "")
    }
}
