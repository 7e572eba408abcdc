/// Comparison whose time does not depend on where two secrets differ.
public enum ConstantTime {
    /// Whether `a` and `b` hold the same bytes. It looks at every byte whatever
    /// it finds, so the time taken tells only the lengths, which are not secret
    /// (a signature's length is fixed by its algorithm).
    public static func equals(_ a: some Collection<UInt8>, _ b: some Collection<UInt8>) -> Bool {
        // Copied to arrays (free for an array) so the loop below is concrete
        // code, not generic code run through witness tables from another module.
        let x = Array(a)
        let y = Array(b)
        guard x.count == y.count else { return false }
        var difference: UInt8 = 0
        for i in x.indices { difference |= x[i] ^ y[i] }
        return difference == 0
    }
}
