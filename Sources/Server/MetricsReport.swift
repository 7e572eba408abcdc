import Foundation
import EventStream

/// The text of `/metrics` (Prometheus exposition format) and `/channels` (JSON).
enum MetricsReport {
    /// `showsAll`: the request carries the publish token, so protected
    /// channels are named too; otherwise their per-channel samples are left
    /// out (the totals still count them).
    static func render(_ server: ServerContext, showsAll: Bool = true) -> String {
        let metrics = server.metrics
        let all = server.hub.channelInfos()
        let channels = visible(all, server, showsAll)
        var out = ""
        func family(_ name: String, _ type: String, _ help: String) {
            out += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
        }
        family("sse_connections", "gauge", "Open client connections.")
        out += "sse_connections \(metrics.connections.load(ordering: .relaxed))\n"
        family("sse_subscribers", "gauge", "Open event streams, and subscriptions per channel.")
        out += "sse_subscribers \(metrics.subscribers.load(ordering: .relaxed))\n"
        for channel in channels {
            out += "sse_subscribers{channel=\"\(label(channel.name))\"} \(channel.subscribers)\n"
        }
        family("sse_events_published_total", "counter", "Events published, per channel and in all.")
        out += "sse_events_published_total \(all.reduce(UInt64(0)) { $0 + $1.published })\n"
        for channel in channels {
            out += "sse_events_published_total{channel=\"\(label(channel.name))\"} \(channel.published)\n"
        }
        family("sse_events_delivered_total", "counter", "Events written to subscribers.")
        out += "sse_events_delivered_total \(metrics.deliveredTotal)\n"
        family("sse_subscribers_dropped_total", "counter", "Subscribers disconnected for falling behind the buffer.")
        out += "sse_subscribers_dropped_total \(metrics.droppedSubscribers.load(ordering: .relaxed))\n"
        family("sse_connections_rejected_total", "counter", "Connections refused for --max-clients or lack of descriptors.")
        out += "sse_connections_rejected_total \(metrics.rejectedConnections.load(ordering: .relaxed))\n"
        family("sse_access_log_dropped_total", "counter", "Access-log lines dropped because the writer fell behind.")
        out += "sse_access_log_dropped_total \(server.accessLog?.dropped.load(ordering: .relaxed) ?? 0)\n"
        family("sse_channel_buffered_events", "gauge", "Events held for replay per channel.")
        for channel in channels {
            out += "sse_channel_buffered_events{channel=\"\(label(channel.name))\"} \(channel.buffered)\n"
        }
        family("sse_channels", "gauge", "Channels that exist (at most --max-channels).")
        out += "sse_channels \(all.count)\n"
        family("sse_buffered_bytes", "gauge", "Bytes of events held for replay in all channels (at most --max-memory).")
        out += "sse_buffered_bytes \(server.hub.bufferedBytes)\n"
        family("sse_events_evicted_total", "counter", "Events forgotten early to stay within --max-memory (largest channels first).")
        out += "sse_events_evicted_total \(server.hub.evictedEvents)\n"
        family("sse_backend_up", "gauge", "1 while the event store can be reached (always 1 in memory).")
        out += "sse_backend_up \(server.hub.store?.unavailableReason == nil ? 1 : 0)\n"
        if server.accessPolicy != nil { out += metrics.auth.render() }
        out += presence(server, showsAll: showsAll)
        return out
    }

    /// Channel names hold no `"` or `\`, but escape anyway: this is a wire format.
    private static func label(_ text: String) -> String {
        text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
    }

    /// The channels a request may see named: all, or only unprotected ones.
    static func visible(_ channels: [ChannelInfo], _ server: ServerContext, _ showsAll: Bool) -> [ChannelInfo] {
        guard !showsAll, let policy = server.accessPolicy else { return channels }
        return channels.filter { !policy.isProtected($0.name) }
    }

    static func channelsJSON(_ server: ServerContext, showsAll: Bool = true) -> String {
        let items = visible(server.hub.channelInfos(), server, showsAll).map { channel in
            let last = channel.lastID.map { "\"\($0)\"" } ?? "null"
            return "{\"name\":\"\(channel.name)\",\"subscribers\":\(channel.subscribers),\"buffered\":\(channel.buffered),\"lastId\":\(last)}"
        }
        return "[" + items.joined(separator: ",") + "]"
    }
}
