/// Command-line options as `--name value` pairs and bare `--flag`s, read by name.
struct Options {
    private var values: [String: String] = [:]
    private var flags: Set<String> = []
    private(set) var positional: [String] = []
    private static let bareFlags: Set<String> = ["idle", "quick", "help"]

    init(_ args: ArraySlice<String>) throws(BenchError) {
        var i = args.startIndex
        while i < args.endIndex {
            let a = args[i]
            if a.hasPrefix("--") {
                var name = String(a.dropFirst(2))
                if let eq = name.firstIndex(of: "=") {
                    values[String(name[..<eq])] = String(name[name.index(after: eq)...])
                    i += 1
                    continue
                }
                if Self.bareFlags.contains(name) {
                    flags.insert(name)
                } else {
                    i += 1
                    guard i < args.endIndex else { throw .usage("--\(name) needs a value") }
                    values[name] = args[i]
                }
                name = ""
            } else {
                positional.append(a)
            }
            i += 1
        }
    }

    func has(_ flag: String) -> Bool { flags.contains(flag) }
    func string(_ name: String) -> String? { values[name] }

    func int(_ name: String) throws(BenchError) -> Int? {
        guard let v = values[name] else { return nil }
        guard let n = Int(v) else { throw .usage("--\(name) \(v): not an integer") }
        return n
    }

    func double(_ name: String) throws(BenchError) -> Double? {
        guard let v = values[name] else { return nil }
        guard let n = Double(v) else { throw .usage("--\(name) \(v): not a number") }
        return n
    }
}
