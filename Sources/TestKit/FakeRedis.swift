import Dispatch
import Foundation
import Glibc
import Reactor

/// A TCP server that is not Redis: for its Nth connection it answers the
/// Nth list of replies, one reply for each read, then hangs up (the last
/// connection stays open until `stop`).
public final class FakeRedis: @unchecked Sendable {
    public let port: Int
    private let listener: Int32
    private let lock = NSLock()
    private var accepted = 0
    private var stopping = false
    private let finished = DispatchSemaphore(value: 0)

    public var connections: Int { lock.withLock { accepted } }

    public init(replies: [[String]]) throws {
        (listener, port) = try Socket.listen(host: "127.0.0.1", port: 0)
        let thread = Thread { [self] in
            serve(replies)
            finished.signal()
        }
        thread.start()
    }

    private func waitReadable(_ fd: Int32) -> Bool {
        var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        for _ in 0..<100 {
            if lock.withLock({ stopping }) { return false }
            if poll(&entry, 1, 100) > 0 { return true }
        }
        return false
    }

    private func serve(_ replies: [[String]]) {
        for script in replies {
            guard waitReadable(listener), case .processed(let accepted) = Socket.accept(listener) else { return }
            let fd = Int32(accepted)
            lock.withLock { self.accepted += 1 }
            var buffer = [UInt8](repeating: 0, count: 4096)
            for reply in script {
                guard waitReadable(fd) else { break }
                guard case .processed = buffer.withUnsafeMutableBytes({ Socket.read(fd, into: $0) }) else { break }
                _ = Array(reply.utf8).withUnsafeBytes { Socket.write(fd, $0) }
            }
            // Keep the last connection open for the test; close the others.
            if script != replies.last! { Socket.close(fd) } else { _ = waitReadable(-1) }
        }
    }

    public func stop() {
        lock.withLock { stopping = true }
        _ = finished.wait(timeout: .now() + 15)
        Socket.close(listener)
    }
}
