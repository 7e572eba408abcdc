import Foundation
import Glibc
import Synchronization

/// A webhook receiver on a raw socket on 127.0.0.1: reads each request (head
/// and `Content-Length` body), records it, and answers as its mode says.
public final class WebhookReceiver: @unchecked Sendable {
    public enum Mode: Sendable {
        case up
        /// Answers 503.
        case unavailable
        /// Closes the connection without an answer.
        case hangUp
    }

    public struct Delivery: Sendable {
        public var headers: [String: String]
        public var body: [UInt8]
        /// The status answered; nil when the connection was closed instead.
        public var answered: Int?
    }

    public let port: Int
    private let listener: Int32
    private let condition = NSCondition()
    // Guarded by `condition`.
    private var mode = Mode.up
    private var requests: [Delivery] = []
    private let exited = DispatchSemaphore(value: 0)

    public init() throws {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, Glibc.listen(listener, 16) == 0 else { throw POSIXError(.EADDRINUSE) }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listener, $0, &length) }
        }
        port = Int(UInt16(bigEndian: address.sin_port))
        self.listener = listener
        let thread = Thread { [self] in
            acceptLoop()
            exited.signal()
        }
        thread.start()
    }

    public var url: String { "http://127.0.0.1:\(port)/hooks?app=1" }

    public func set(_ mode: Mode) {
        condition.lock()
        self.mode = mode
        condition.unlock()
    }

    /// Every request seen, answered or not.
    public var all: [Delivery] {
        condition.lock()
        defer { condition.unlock() }
        return requests
    }

    /// The requests answered 2xx: what the receiver took.
    public var taken: [Delivery] { all.filter { $0.answered == 200 } }

    /// Waits (at most `seconds`) until `done` holds for the requests seen.
    @discardableResult
    public func wait(seconds: Double = 10, until done: ([Delivery]) -> Bool) -> Bool {
        let deadline = Date(timeIntervalSinceNow: seconds)
        condition.lock()
        defer { condition.unlock() }
        while !done(requests) {
            if !condition.wait(until: deadline) { return done(requests) }
        }
        return true
    }

    public func stop() {
        shutdown(listener, Int32(SHUT_RDWR))
        exited.wait()
        close(listener)
    }

    private func acceptLoop() {
        while true {
            let fd = accept(listener, nil, nil)
            if fd < 0 {
                if errno == EINTR { continue }
                return
            }
            serve(fd)
            close(fd)
        }
    }

    private func serve(_ fd: Int32) {
        var timeout = timeval(tv_sec: 2, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var input: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        var headEnd: Int? = nil
        var headers: [String: String] = [:]
        while true {
            if let end = headEnd, input.count >= end + (Int(headers["content-length"] ?? "0") ?? 0) { break }
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { return }
            input += buffer[0..<n]
            if headEnd == nil, let range = String(decoding: input, as: UTF8.self).range(of: "\r\n\r\n") {
                let headText = String(decoding: input, as: UTF8.self)[..<range.lowerBound]
                headEnd = headText.utf8.count + 4
                for line in headText.split(separator: "\r\n").dropFirst() {
                    guard let colon = line.firstIndex(of: ":") else { continue }
                    headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
                }
            }
        }
        let body = Array(input[headEnd!...])
        condition.lock()
        let mode = self.mode
        condition.unlock()
        var answered: Int? = nil
        switch mode {
        case .up: answered = 200
        case .unavailable: answered = 503
        case .hangUp: break
        }
        if let answered {
            let text = "HTTP/1.1 \(answered) X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            _ = Array(text.utf8).withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        }
        condition.lock()
        requests.append(Delivery(headers: headers, body: body, answered: answered))
        condition.broadcast()
        condition.unlock()
    }
}
