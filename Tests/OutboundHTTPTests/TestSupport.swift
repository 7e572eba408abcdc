import Dispatch
import Foundation
import Glibc
import Reactor
import Synchronization

@testable import OutboundHTTP

/// An event loop running on its own thread for a test, optionally on a hand-turned clock.
final class LoopRunner: @unchecked Sendable {
    let loop: EventLoop
    let clock: ManualClock?
    private let done = DispatchSemaphore(value: 0)

    init(manualClock: Bool = false) {
        let clock = manualClock ? ManualClock() : nil
        self.clock = clock
        loop = try! EventLoop(clock: clock ?? SystemClock())
        let thread = Thread { [loop, done] in
            loop.run()
            done.signal()
        }
        thread.start()
    }

    /// Runs `body` on the loop and waits (at most `timeout` s) for it to call back.
    func call<T>(timeout: Double = 5, _ body: @escaping (@escaping (T) -> Void) -> Void) -> T? {
        let box = ResultBox<T>()
        let ready = DispatchSemaphore(value: 0)
        nonisolated(unsafe) let body = body
        loop.execute {
            body { value in
                box.lock.withLock { box.value = value }
                ready.signal()
            }
        }
        guard ready.wait(timeout: .now() + timeout) == .success else { return nil }
        return box.lock.withLock { box.value }
    }

    /// Runs `body` on the loop and returns its value.
    func sync<T>(_ body: @escaping () -> T) -> T? {
        call { reply in reply(body()) }
    }

    /// Moves the manual clock on and lets the loop look at its timers.
    func advance(seconds: Double) {
        clock?.advance(by: UInt64(seconds * 1e9))
        loop.execute {}
    }

    func stop() {
        loop.stop()
        _ = done.wait(timeout: .now() + 5)
    }
}

/// One accepted connection of a `RawServer`, read and written with blocking calls
/// that give up after a few seconds.
final class RawPeer: @unchecked Sendable {
    let fd: Int32
    private var buffer: [UInt8] = []

    init(fd: Int32) {
        self.fd = fd
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        Socket.setNoDelay(fd)
    }

    /// Reads one request (head and its Content-Length body); nil when the client closed or went silent.
    func readRequest() -> String? {
        while true {
            if let end = find([0x0D, 0x0A, 0x0D, 0x0A]) {
                let head = String(decoding: buffer[..<end], as: UTF8.self)
                var length = 0
                for line in head.split(separator: "\r\n") where line.lowercased().hasPrefix("content-length:") {
                    length = Int(line.dropFirst(15).trimmingCharacters(in: .whitespaces)) ?? 0
                }
                if buffer.count >= end + 4 + length {
                    let request = String(decoding: buffer[..<(end + 4 + length)], as: UTF8.self)
                    buffer.removeFirst(end + 4 + length)
                    return request
                }
            }
            guard readMore() else { return nil }
        }
    }

    /// True when the client closes (read returns 0) within the receive timeout.
    func waitForClose() -> Bool {
        while true {
            var chunk = [UInt8](repeating: 0, count: 4096)
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n == 0 { return true }
            if n < 0 { return errno == ECONNRESET }
        }
    }

    private func readMore() -> Bool {
        var chunk = [UInt8](repeating: 0, count: 4096)
        let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        guard n > 0 else { return false }
        buffer += chunk[0..<n]
        return true
    }

    private func find(_ needle: [UInt8]) -> Int? {
        guard buffer.count >= needle.count else { return nil }
        for i in 0...(buffer.count - needle.count) where buffer[i..<(i + needle.count)].elementsEqual(needle) { return i }
        return nil
    }

    func send(_ text: String) { send(Array(text.utf8)) }

    func send(_ bytes: [UInt8]) {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return }
            offset += n
        }
    }

    func close() { Glibc.close(fd) }
}

/// A TCP server on 127.0.0.1 (port 0) whose every connection runs `script` on
/// its own thread; it counts the connections it accepted.
final class RawServer: @unchecked Sendable {
    let port: Int
    private let listener: Int32
    private let accepted = Atomic<Int>(0)
    private let stopped = Atomic<Bool>(false)

    init(_ script: @escaping @Sendable (_ peer: RawPeer, _ index: Int) -> Void) throws {
        let (fd, port) = try Socket.listen(host: "127.0.0.1", port: 0)
        listener = fd
        self.port = port
        let thread = Thread { [self] in
            while !stopped.load(ordering: .relaxed) {
                var fds = [pollfd(fd: listener, events: Int16(POLLIN), revents: 0)]
                guard poll(&fds, 1, 50) > 0 else { continue }
                let client = accept(listener, nil, nil)
                guard client >= 0 else { continue }
                // The listener is non-blocking; the tests' peers block (with timeouts).
                _ = fcntl(client, F_SETFL, fcntl(client, F_GETFL) & ~O_NONBLOCK)
                let index = accepted.add(1, ordering: .relaxed).newValue
                let peer = RawPeer(fd: client)
                let worker = Thread {
                    script(peer, index)
                    peer.close()
                }
                worker.start()
            }
            Glibc.close(listener)
        }
        thread.start()
    }

    var acceptedConnections: Int { accepted.load(ordering: .relaxed) }

    func stop() { stopped.store(true, ordering: .relaxed) }

    var url: String { "http://127.0.0.1:\(port)" }
}

/// Polls `condition` every 5 ms for up to `timeout` seconds.
@discardableResult
func waitUntil(timeout: Double = 5, _ condition: () -> Bool) -> Bool {
    let deadline = Date(timeIntervalSinceNow: timeout)
    while Date() < deadline {
        if condition() { return true }
        usleep(5_000)
    }
    return condition()
}

/// A one-shot signal between a server script and the test, with a deadline on waiting.
final class Flag: @unchecked Sendable {
    private let semaphore = DispatchSemaphore(value: 0)
    func raise() { semaphore.signal() }
    @discardableResult
    func wait(timeout: Double = 5) -> Bool { semaphore.wait(timeout: .now() + timeout) == .success }
}

/// A value handed from the loop's thread to the test's.
final class ResultBox<T>: @unchecked Sendable {
    let lock = Lock()
    var value: T?
}
