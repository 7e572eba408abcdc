/// State shared between threads, reachable only under its lock.
///
/// A pthread mutex rather than `Synchronization.Mutex`: ThreadSanitizer
/// (`.ci/tsan`) understands pthread locks but not the futex inside `Mutex`
/// on Linux, which it reports as races between correctly locked accesses.
public final class Locked<Value: ~Copyable>: @unchecked Sendable {
    @usableFromInline let lock = Lock()
    @usableFromInline var value: Value

    public init(_ value: consuming Value) {
        self.value = value
    }

    @inlinable
    public func withLock<Result, E: Error>(_ body: (inout Value) throws(E) -> Result) throws(E) -> Result {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}
