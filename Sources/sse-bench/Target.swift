/// A loopback HTTP endpoint: `http://127.x.y.z:PORT/path`. Anything outside 127.0.0.0/8 is refused,
/// so the bench can never send load anywhere but this machine.
struct Target: CustomStringConvertible {
    let address: UInt32  // host byte order
    let port: UInt16
    let path: String

    /// Parses `http://HOST:PORT/PATH` where HOST is `localhost` or a 127.x.y.z literal;
    /// `{ch}` in the path is replaced by `channel`.
    init(_ url: String, channel: String) throws(BenchError) {
        guard url.hasPrefix("http://") else { throw .usage("\(url): only http:// URLs are supported") }
        let rest = url.dropFirst("http://".count)
        let slash = rest.firstIndex(of: "/") ?? rest.endIndex
        let hostPort = rest[rest.startIndex..<slash]
        var rawPath = String(rest[slash...])
        if rawPath.isEmpty { rawPath = "/" }
        path = rawPath.replacingAll("{ch}", with: channel)
        let parts = hostPort.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, let p = UInt16(parts[1]), p > 0 else {
            throw .usage("\(url): needs an explicit port, e.g. http://127.0.0.1:8080/events/x")
        }
        port = p
        let host = parts[0] == "localhost" ? "127.0.0.1" : String(parts[0])
        let octets = host.split(separator: ".").compactMap { UInt8($0) }
        guard octets.count == 4, octets[0] == 127 else {
            throw .usage("\(url): the bench only targets loopback addresses (127.0.0.0/8)")
        }
        address = octets.reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
    }

    var hostHeader: String {
        "\(address >> 24).\(address >> 16 & 255).\(address >> 8 & 255).\(address & 255):\(port)"
    }

    var description: String { "http://\(hostHeader)\(path)" }
}

extension String {
    /// Replaces every occurrence of `needle` (no Foundation here).
    func replacingAll(_ needle: String, with replacement: String) -> String {
        guard !needle.isEmpty else { return self }
        var out = ""
        var rest = Substring(self)
        while let r = rest.range(of: needle) {
            out += rest[rest.startIndex..<r.lowerBound]
            out += replacement
            rest = rest[r.upperBound...]
        }
        out += rest
        return out
    }
}

extension Substring {
    /// The first range of `needle`, by a plain scan (no Foundation here).
    func range(of needle: String) -> Range<Index>? {
        let n = Array(needle.utf8)
        let h = Array(self.utf8)
        guard n.count <= h.count, !n.isEmpty else { return nil }
        var i = 0
        while i + n.count <= h.count {
            if h[i] == n[0] && Array(h[i..<i + n.count]) == n {
                let lo = utf8.index(startIndex, offsetBy: i)
                let hi = utf8.index(lo, offsetBy: n.count)
                return lo..<hi
            }
            i += 1
        }
        return nil
    }
}
