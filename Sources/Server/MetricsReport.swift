import Foundation
import EventStream

/// The text of `/metrics` (Prometheus exposition format) and `/channels` (JSON).
enum MetricsReport {
    static func render(_ server: ServerContext) -> String {
        let metrics = server.metrics
        let channels = server.hub.channelInfos()
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
        out += "sse_events_published_total \(channels.reduce(UInt64(0)) { $0 + $1.published })\n"
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
        return out
    }

    /// Channel names hold no `"` or `\`, but escape anyway: this is a wire format.
    private static func label(_ text: String) -> String {
        text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
    }

    static func channelsJSON(_ hub: Hub) -> String {
        let items = hub.channelInfos().map { channel in
            let last = channel.lastID.map { "\"\($0)\"" } ?? "null"
            return "{\"name\":\"\(channel.name)\",\"subscribers\":\(channel.subscribers),\"buffered\":\(channel.buffered),\"lastId\":\(last)}"
        }
        return "[" + items.joined(separator: ",") + "]"
    }
}
