import Glibc

/// A blocking one-shot `GET` on loopback for small JSON answers (the presence snapshot), with a
/// deadline on every step. Not for load: the churn run asks a few times a second.
enum SnapshotClient {
    /// The body of `GET target.path` (status 200 only), or an error saying what went wrong.
    static func get(_ target: Target, bearer: String?, timeoutMs: Int = 2000) throws(BenchError) -> String {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        if fd < 0 { throw .system("socket", errno) }
        defer { close(fd) }
        var tv = timeval(tv_sec: timeoutMs / 1000, tv_usec: (timeoutMs % 1000) * 1000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var dst = sockaddr_in()
        dst.sin_family = sa_family_t(AF_INET)
        dst.sin_port = target.port.bigEndian
        dst.sin_addr.s_addr = target.address.bigEndian
        let rc = withUnsafePointer(to: &dst) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        if rc < 0 { throw .system("connect(\(target.hostHeader))", errno) }
        let auth = bearer.map { "Authorization: Bearer \($0)\r\n" } ?? ""
        var request = Array("GET \(target.path) HTTP/1.1\r\nHost: \(target.hostHeader)\r\n\(auth)Connection: close\r\n\r\n".utf8)
        guard request.withUnsafeMutableBytes({ Sockets.writeAll(fd, UnsafeRawBufferPointer($0)) }) else {
            throw .failed("GET \(target.path): write failed")
        }
        var answer: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while answer.count < 16 << 20 {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, 65536) }
            if n < 0 && errno == EINTR { continue }
            if n < 0 { throw .system("GET \(target.path): read", errno) }
            if n == 0 { break }
            answer += chunk[0..<n]
        }
        let text = String(decoding: answer, as: UTF8.self)
        guard text.hasPrefix("HTTP/1.1 200") else {
            throw .failed("GET \(target.path): \(text.split(separator: "\r\n").first ?? "no answer")")
        }
        guard let split = Substring(text).range(of: "\r\n\r\n") else { throw .failed("GET \(target.path): no head") }
        return String(text[split.upperBound...])
    }
}

/// The two figures of a presence snapshot the churn run checks, read without a JSON parser:
/// the top-level `"connections"` (the first key of that name, per the contract's key order) and
/// the number of `"user":` entries.
struct PresenceFigures: Equatable, CustomStringConvertible {
    var connections: Int
    var users: Int

    init(connections: Int, users: Int) {
        self.connections = connections
        self.users = users
    }

    init?(json: String) {
        let s = Substring(json)
        guard let c = s.range(of: "\"connections\":") else { return nil }
        let digits = s[c.upperBound...].drop { $0 == " " }.prefix { $0.isNumber }
        guard let n = Int(digits) else { return nil }
        connections = n
        var count = 0
        var rest = s
        while let r = rest.range(of: "\"user\":") {
            count += 1
            rest = rest[r.upperBound...]
        }
        users = count
    }

    var description: String { "connections=\(connections) users=\(users)" }
}
