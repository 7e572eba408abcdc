/// A value that belongs to one event loop, carried through code that may run
/// elsewhere (a store's completion) and opened only back on its loop; a debug
/// build stops when it is touched on another thread.
public final class LoopBound<Value>: @unchecked Sendable {
    private let loop: EventLoop
    private var stored: Value

    /// Wrap on the loop that owns `value`.
    public init(_ value: Value, on loop: EventLoop) {
        self.loop = loop
        stored = value
    }

    public var value: Value {
        get {
            loop.assertInLoop()
            return stored
        }
        set {
            loop.assertInLoop()
            stored = newValue
        }
    }
}
