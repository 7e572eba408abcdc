/// The contract's rules for a request naming several channels, as pure
/// functions the request chain calls once it knows what is allowed.
public enum ChannelAccess {
    /// Names starting with this are the server's presence channels.
    public static let presencePrefix = "presence/"

    /// The channel whose authorization covers `channel`: `presence/X` is
    /// authorized as `X`; any other channel as itself.
    public static func governingChannel(_ channel: String) -> String {
        guard channel.hasPrefix(presencePrefix), channel.utf8.count > presencePrefix.utf8.count else { return channel }
        return String(channel.dropFirst(presencePrefix.count))
    }

    /// The channels of `channels` that need authorization under `protected`
    /// (judged by their governing channel), in order, without repeats.
    public static func protectedChannels(_ channels: [String], protected: ChannelRules) -> [String] {
        var seen = Set<String>()
        return channels.filter { protected.matches(governingChannel($0)) && seen.insert($0).inserted }
    }

    /// The channels to name in the auth callback's `SSE-Channels` for these
    /// (protected) channels: each one's governing channel, without repeats,
    /// so `presence/X` is asked as `X`, and an app answering
    /// `SSE-Channels: X` does not name a channel that was not asked.
    public static func governingChannels(_ channels: [String]) -> [String] {
        var seen = Set<String>()
        return channels.map(governingChannel).filter { seen.insert($0).inserted }
    }

    /// The first channel that is protected and not `allowed` (the one a `403`
    /// names), or nil when the request may open. `allowed` is asked about the
    /// governing channel.
    public static func firstRefused(_ channels: [String], protected: ChannelRules, allowed: (String) -> Bool) -> String? {
        channels.first { protected.matches(governingChannel($0)) && !allowed(governingChannel($0)) }
    }
}
