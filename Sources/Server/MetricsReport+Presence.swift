import Presence

/// The presence and webhook families of `/metrics`.
extension MetricsReport {
    /// `sse_presence_users{channel}` (users present, those within the leave
    /// grace included) for the channels the request may see named, and
    /// `sse_webhook_dropped_total`.
    static func presence(_ server: ServerContext, showsAll: Bool) -> String {
        guard let presence = server.presence else { return "" }
        var out = "# HELP sse_presence_users Identified users present per channel (within the leave grace included).\n"
        out += "# TYPE sse_presence_users gauge\n"
        let policy = showsAll ? nil : server.accessPolicy
        for count in presence.registry.counts() where count.users > 0 && policy?.isProtected(count.channel) != true {
            // Channel names hold no `"` or `\` (ChannelName), so they need no escaping.
            out += "sse_presence_users{channel=\"\(count.channel)\"} \(count.users)\n"
        }
        out += "# HELP sse_webhook_dropped_total Webhook events never delivered: dropped from a full queue or given up after retrying.\n"
        out += "# TYPE sse_webhook_dropped_total counter\n"
        out += "sse_webhook_dropped_total \(presence.webhooks?.dropped ?? 0)\n"
        return out
    }
}
