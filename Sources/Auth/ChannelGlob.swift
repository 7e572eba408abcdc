/// A channel pattern, as `--protect` and a token's `sse.subscribe` and
/// `sse.publish` give them: `/` separates segments; `*` matches any run of
/// characters within one segment (the empty one too); `**`, a whole segment,
/// matches any number of segments; every other character is itself.
///
/// `**` follows `.gitignore`: leading or inside, it matches zero segments too
/// (`**/b` matches `b`, `a/**/b` matches `a/b`), but a trailing one matches
/// only what is *under* the prefix: `a/**` matches `a/b` and `a/b/c`, not `a`
/// (write `a,a/**` for both). `**` alone matches every channel; `*` alone,
/// every channel without a `/`.
public struct ChannelGlob: Equatable, Sendable, CustomStringConvertible {
    /// The pattern as written.
    public let pattern: String
    private let segments: [Segment]
    /// The pattern has no `*`: it matches only the channel spelled the same.
    private let isLiteral: Bool

    /// One `/`-separated part of a pattern.
    enum Segment: Equatable, Sendable {
        /// `**`: any number of segments.
        case any
        /// One segment; `*` in it matches any run of bytes.
        case one([UInt8])
    }

    /// Longer than any useful pattern: channel names are at most 128 bytes.
    public static let maxLength = 256

    private init(pattern: String, segments: [Segment]) {
        self.pattern = pattern
        self.segments = segments
        isLiteral = !pattern.utf8.contains(UInt8(ascii: "*"))
    }

    /// Reads a pattern: the characters of channel names (`A-Z a-z 0-9 . _ - ~`
    /// and `/` inside) plus `*`, with `**` only as a whole segment.
    public static func parse(_ pattern: String) -> Result<ChannelGlob, ChannelGlobError> {
        let utf8 = Array(pattern.utf8)
        guard !utf8.isEmpty else { return .failure(ChannelGlobError("empty channel pattern")) }
        guard utf8.count <= maxLength else { return .failure(ChannelGlobError("channel pattern longer than \(maxLength) bytes")) }
        guard utf8.first != UInt8(ascii: "/"), utf8.last != UInt8(ascii: "/") else {
            return .failure(ChannelGlobError("channel pattern \"\(pattern)\" starts or ends with /"))
        }
        for b in utf8 {
            switch b {
            case 0x41...0x5A, 0x61...0x7A, 0x30...0x39, 0x2E, 0x5F, 0x2D, 0x7E, 0x2F, 0x2A: continue
            default: return .failure(ChannelGlobError("channel pattern \"\(pattern)\" has a character channel names cannot have"))
            }
        }
        var segments: [Segment] = []
        for part in utf8.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false) {
            if part.elementsEqual("**".utf8) {
                // `**/**` is the same as `**`.
                if segments.last != .any { segments.append(.any) }
            } else if part.count >= 2, zip(part, part.dropFirst()).contains(where: { $0 == 0x2A && $1 == 0x2A }) {
                return .failure(ChannelGlobError("channel pattern \"\(pattern)\": ** must be a whole segment"))
            } else {
                segments.append(.one(Array(part)))
            }
        }
        // A trailing `**` needs one segment at least: `a/**` is `a/*/**`.
        if segments.last == .any {
            segments.insert(.one([UInt8(ascii: "*")]), at: segments.count - 1)
        }
        return .success(ChannelGlob(pattern: pattern, segments: segments))
    }

    /// Whether `channel` is one this pattern names.
    public func matches(_ channel: String) -> Bool {
        if isLiteral { return channel == pattern }
        var name = channel
        return name.withUTF8 { matches(name: $0) }
    }

    private func matches(name: UnsafeBufferPointer<UInt8>) -> Bool {
        var bounds: [Range<Int>] = []
        var start = 0
        for i in 0..<name.count where name[i] == UInt8(ascii: "/") {
            bounds.append(start..<i)
            start = i + 1
        }
        bounds.append(start..<name.count)
        // Wildcard matching with backtracking to the last `**` only: each other
        // segment matches exactly one, so this takes at most patterns × names steps.
        var p = 0
        var c = 0
        var anyAt = -1
        var resumeAt = 0
        while c < bounds.count {
            if p < segments.count, segments[p] == .any {
                anyAt = p
                resumeAt = c
                p += 1
            } else if p < segments.count, case .one(let glob) = segments[p],
                Self.matches(glob: glob, UnsafeBufferPointer(rebasing: name[bounds[c]]))
            {
                p += 1
                c += 1
            } else if anyAt >= 0 {
                p = anyAt + 1
                resumeAt += 1
                c = resumeAt
            } else {
                return false
            }
        }
        while p < segments.count, segments[p] == .any { p += 1 }
        return p == segments.count
    }

    /// One segment against one glob segment, `*` matching any run of bytes.
    private static func matches(glob: [UInt8], _ segment: UnsafeBufferPointer<UInt8>) -> Bool {
        var p = 0
        var s = 0
        var starAt = -1
        var resumeAt = 0
        while s < segment.count {
            if p < glob.count, glob[p] == UInt8(ascii: "*") {
                starAt = p
                resumeAt = s
                p += 1
            } else if p < glob.count, glob[p] == segment[s] {
                p += 1
                s += 1
            } else if starAt >= 0 {
                p = starAt + 1
                resumeAt += 1
                s = resumeAt
            } else {
                return false
            }
        }
        while p < glob.count, glob[p] == UInt8(ascii: "*") { p += 1 }
        return p == glob.count
    }

    public var description: String { pattern }

    public static func == (a: ChannelGlob, b: ChannelGlob) -> Bool { a.pattern == b.pattern }
}
