import Foundation
import Glibc

/// A raw-socket HTTP server on 127.0.0.1 that answers its n-th connection with the
/// n-th scripted reply, in as many small writes as the script says, and records
/// every request head it was sent.
final class ScriptedServer: @unchecked Sendable {
    /// Writes a whole reply to the client socket.
    typealias Reply = @Sendable (Int32) -> Void

    let port: Int
    private let listener: Int32
    private let lock = NSLock()
    private var received: [String] = []
    private var stopped = false
    private let finished = DispatchSemaphore(value: 0)

    init(_ replies: [Reply]) throws {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, length) } }
        guard bound == 0, listen(listener, 16) == 0 else { throw POSIXError(.EADDRINUSE) }
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listener, $0, &length) } }
        self.listener = listener
        port = Int(UInt16(bigEndian: address.sin_port))
        let thread = Thread { [self] in
            serve(replies)
            finished.signal()
        }
        thread.start()
    }

    deinit { stop() }

    /// The request heads received so far.
    var requests: [String] {
        lock.lock()
        defer { lock.unlock() }
        return received
    }

    func stop() {
        lock.lock()
        let already = stopped
        stopped = true
        lock.unlock()
        if !already {
            _ = finished.wait(timeout: .now() + 5)
            close(listener)
        }
    }

    private var isStopped: Bool {
        lock.lock()
        defer { lock.unlock() }
        return stopped
    }

    private func serve(_ replies: [Reply]) {
        for reply in replies {
            guard let client = acceptOne() else { return }
            if let head = readHead(client) {
                lock.lock()
                received.append(head)
                lock.unlock()
                reply(client)
            }
            close(client)
        }
    }

    /// Waits (in short polls, so `stop` is noticed) for the next connection.
    private func acceptOne() -> Int32? {
        let deadline = Date().addingTimeInterval(15)
        while !isStopped && Date() < deadline {
            var p = pollfd(fd: listener, events: Int16(POLLIN), revents: 0)
            if poll(&p, 1, 50) == 1 {
                let fd = accept(listener, nil, nil)
                if fd >= 0 { return fd }
            }
        }
        return nil
    }

    private func readHead(_ fd: Int32) -> String? {
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline && !isStopped {
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&p, 1, 50) == 1 else { continue }
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n <= 0 { return nil }
            bytes += chunk[0..<n]
            let text = String(decoding: bytes, as: UTF8.self)
            if let end = text.range(of: "\r\n\r\n") { return String(text[..<end.lowerBound]) }
        }
        return nil
    }

    // MARK: - replies

    /// Writes each piece with its own write; false once the client has gone.
    @discardableResult
    static func write(_ fd: Int32, _ pieces: [String]) -> Bool {
        for piece in pieces {
            let bytes = Array(piece.utf8)
            let n = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n != bytes.count { return false }
        }
        return true
    }

    /// A whole reply, written in the given pieces.
    static func raw(_ pieces: [String]) -> Reply {
        { fd in write(fd, pieces) }
    }

    static let streamHead = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\nTransfer-Encoding: chunked\r\n\r\n"

    /// A chunked event stream: each body piece is one chunk, its framing written in
    /// three writes; the final chunk ends the stream when `ends`.
    static func stream(_ body: [[UInt8]], ends: Bool = true) -> Reply {
        { fd in
            guard write(fd, [streamHead]) else { return }
            for piece in body {
                let size = String(piece.count, radix: 16)
                guard write(fd, [size, ";ext=1\r\n"]) else { return }
                let sent = piece.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                guard sent == piece.count, write(fd, ["\r\n"]) else { return }
            }
            if ends { write(fd, ["0\r\n", "\r\n"]) }
        }
    }

    static func stream(_ body: [String], ends: Bool = true) -> Reply {
        stream(body.map { Array($0.utf8) }, ends: ends)
    }
}
