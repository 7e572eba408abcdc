/// The check every incremental parser's fuzz target makes: the input fed
/// whole, split in two, and (when short) one byte at a time must give the
/// same outcome. A difference stops the fuzzer with both outcomes.
public enum SplitCheck {
    /// Runs `run` on the three feedings of `input`; returns the whole one's outcome.
    @discardableResult
    public static func agree<Outcome>(
        _ input: ArraySlice<UInt8>, split: Int, trickleUpTo limit: Int = 1024, label: String = "",
        same: (Outcome, Outcome) -> Bool, _ run: ([ArraySlice<UInt8>]) -> Outcome
    ) -> Outcome {
        let whole = run([input])
        let cut = input.startIndex + min(split, input.count)
        let halves = run([input[..<cut], input[cut...]])
        precondition(same(halves, whole), "\(label)split at \(split): \(halves) != \(whole)")
        if input.count <= limit {
            let trickled = run(input.indices.map { input[$0...$0] })
            precondition(same(trickled, whole), "\(label)byte by byte: \(trickled) != \(whole)")
        }
        return whole
    }

    @discardableResult
    public static func agree<Outcome: Equatable>(
        _ input: ArraySlice<UInt8>, split: Int, trickleUpTo limit: Int = 1024, label: String = "",
        _ run: ([ArraySlice<UInt8>]) -> Outcome
    ) -> Outcome {
        agree(input, split: split, trickleUpTo: limit, label: label, same: ==, run)
    }
}
