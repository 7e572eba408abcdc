/// A list of channel patterns that matches a channel when any of its
/// patterns does: the `--protect` list, or a token's `sse.subscribe`.
public struct ChannelRules: Equatable, Sendable {
    public let globs: [ChannelGlob]

    public init(globs: [ChannelGlob]) { self.globs = globs }

    /// Every channel (`**`).
    public static let everything: ChannelRules = {
        guard case .success(let all) = ChannelGlob.parse("**") else { return ChannelRules(globs: []) }
        return ChannelRules(globs: [all])
    }()

    /// No channel.
    public static let nothing = ChannelRules(globs: [])

    public var isEmpty: Bool { globs.isEmpty }

    /// Reads a comma-separated list such as `--protect a,b/*`; spaces around
    /// an item are ignored, an empty item is refused.
    public static func parse(_ list: String) -> Result<ChannelRules, ChannelGlobError> {
        let items = list.split(separator: ",", omittingEmptySubsequences: false).map(trimmed)
        if items.contains(where: \.isEmpty) { return .failure(ChannelGlobError("empty channel pattern in \"\(list)\"")) }
        return parse(items)
    }

    private static func trimmed(_ item: Substring) -> String {
        var item = item
        while let c = item.first, c == " " || c == "\t" { item = item.dropFirst() }
        while let c = item.last, c == " " || c == "\t" { item = item.dropLast() }
        return String(item)
    }

    /// Reads each of `patterns` (e.g. the strings of a token's `sse.subscribe`).
    public static func parse(_ patterns: [String]) -> Result<ChannelRules, ChannelGlobError> {
        var globs: [ChannelGlob] = []
        globs.reserveCapacity(patterns.count)
        for pattern in patterns {
            switch ChannelGlob.parse(pattern) {
            case .success(let glob): globs.append(glob)
            case .failure(let error): return .failure(error)
            }
        }
        return .success(ChannelRules(globs: globs))
    }

    /// Whether any pattern matches `channel`.
    public func matches(_ channel: String) -> Bool {
        globs.contains { $0.matches(channel) }
    }
}
