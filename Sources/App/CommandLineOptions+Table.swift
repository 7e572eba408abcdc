import Auth
import RESP
import Foundation
import EventStream
import Reactor
import Server

extension CommandLineOptions {
    /// Every option, in the order `--help` and the man page list them.
    static let table: [OptionDescriptor] = [
        // General.
        OptionDescriptor("host", value: "ADDR", default: "127.0.0.1", "address to bind, IPv4 or IPv6 (or a host name)") { o, v in
            o.server.host = v.text
        },
        OptionDescriptor("port", short: "p", value: "N", default: "8080", "port; 0 picks a free one") { o, v in
            o.server.port = try v.integer(0...65535)
        },
        OptionDescriptor("public", value: "DIR", default: "./public, else the installed share folder", "static files served under /") { o, v in
            guard let directory = v.optionalText else {
                o.server.publicDirectory = nil
                return
            }
            // Named explicitly, a folder that is not there is a mistake, not a default.
            guard ResourceSearch.isDirectory(directory) else {
                throw CommandLineOptions.UsageError(message: "\(v.origin) \(directory): no such folder")
            }
            o.server.publicDirectory = directory
            o.publicOrigin = "given with \(v.origin)"
        },
        OptionDescriptor("buffer", value: "N", default: "1000", "events kept per channel for replay") { o, v in
            o.server.bufferSize = try v.integer(1...100_000_000)
        },
        OptionDescriptor("retry", value: "MS", default: "3000", "reconnection hint at the start of every stream") { o, v in
            o.server.retryMilliseconds = try v.integer(0...86_400_000)
        },
        OptionDescriptor("heartbeat", value: "SEC", default: "15", "comment line on streams idle this long; 0 = off") { o, v in
            o.server.heartbeatSeconds = try v.seconds()
        },
        OptionDescriptor("format", value: "line|sse|json", default: "line", "how stdin/tail/exec records become events") { o, v in
            guard let format = RecordFormat(rawValue: v.text) else { throw v.fail("line, sse or json") }
            o.server.format = format
        },
        OptionDescriptor("cors", value: "ORIGIN", default: "none", "allowed Origin (* for any) for streams and publishing") { o, v in
            o.server.corsOrigin = v.optionalText
        },
        OptionDescriptor("publish-token", value: "TOKEN", "POST/PUT need Authorization: Bearer TOKEN") { o, v in
            o.server.publishToken = v.optionalText
        },
        OptionDescriptor("gzip", "compress streams for clients that accept gzip (flushed per event)") { o, v in
            o.server.gzip = try v.flag()
        },
        OptionDescriptor("max-clients", value: "N", default: "open-file limit less 128", "open connections; over it the answer is 503") { o, v in
            o.server.maxClients = try v.integer(1...10_000_000)
        },
        OptionDescriptor("max-body", value: "BYTES", default: "1M", "largest request body; a streaming publish: per record") { o, v in
            o.server.maxBody = try v.bytes()
        },
        OptionDescriptor("header-timeout", value: "SEC", default: "10", "close a request whose headers are not complete by then") { o, v in
            o.server.headerTimeoutSeconds = try v.seconds(positive: true)
        },
        OptionDescriptor("threads", value: "N", default: "one per core", "event loops") { o, v in
            o.server.loopCount = try v.integer(1...64)
        },
        OptionDescriptor("source", short: "s", value: "SOURCE", "a source, as the SOURCE arguments (the variable: one source)") { o, v in
            o.sourceArguments.append(v.text)
        },
        OptionDescriptor("quiet", short: "q", "warnings and errors only", slot: "log-level") { o, v in
            if try v.flag() { o.logLevel = .warning }
        },
        OptionDescriptor("verbose", short: "v", "more log lines (never one per delivered event)", slot: "log-level") { o, v in
            if try v.flag() { o.logLevel = .debug }
        },
        OptionDescriptor("help", short: "h", "this text", environment: false) { o, _ in o.showHelp = true },
        OptionDescriptor("version", short: "V", "the version", environment: false) { o, _ in o.showVersion = true },

        // Budgets and operation.
        OptionDescriptor("max-channels", value: "N", default: "100000", "channels that may exist; one more is 503", section: .operation) { o, v in
            o.server.maxChannels = try v.integer(1...100_000_000)
        },
        OptionDescriptor(
            "max-memory", value: "BYTES", default: "a quarter of RAM",
            "buffered events in all channels (K, M, G suffixes); the oldest go first", section: .operation
        ) { o, v in
            o.server.maxMemory = try v.bytes()
        },
        OptionDescriptor("body-timeout", value: "SEC", default: "60", "close an ordinary request body that stops arriving this long", section: .operation) { o, v in
            o.server.bodyTimeoutSeconds = try v.seconds(positive: true)
        },
        OptionDescriptor("log-format", value: "text|json", default: "text", "standard error and access log lines", section: .operation) { o, v in
            guard let format = LogFormat(rawValue: v.text) else { throw v.fail("text or json") }
            o.server.logFormat = format
        },
        OptionDescriptor("log-timestamps", "RFC 3339 times on text lines (the default when stderr is not a terminal)", section: .operation) { o, v in
            o.logTimestamps = try v.flag()
        },
        OptionDescriptor("access-log", value: "PATH|-", "one line per finished request and per closed stream (- = stdout)", section: .operation) { o, v in
            o.server.accessLogPath = v.optionalText
        },

        // Scale-out.
        OptionDescriptor(
            "redis", value: "URL", default: "none: in memory",
            "share channels through Redis: redis://[[USER]:PASSWORD@]HOST[:PORT][/DB] or unix:///PATH[?db=N]", section: .scaleOut
        ) { o, v in
            guard let url = v.optionalText else {
                o.server.redisURL = nil
                return
            }
            let lower = url.lowercased()
            guard lower.hasPrefix("redis://") || lower.hasPrefix("unix://") else {
                if lower.hasPrefix("rediss://") {
                    throw CommandLineOptions.UsageError(
                        message: "\(v.origin): TLS is not built in; put a local TLS proxy in front and give its redis:// address, got '\(url)'")
                }
                throw v.fail("a redis:// or unix:// URL")
            }
            do throws(RedisURLError) {
                _ = try RedisURL(parsing: url)
            } catch {
                throw CommandLineOptions.UsageError(message: "\(v.origin): \(error.reason) in '\(url)' (expected redis://[[USER]:PASSWORD@]HOST[:PORT][/DB] or unix:///PATH[?db=N])")
            }
            o.server.redisURL = url
        },
        OptionDescriptor("reuse-port", "bind with SO_REUSEPORT so several processes share the port", section: .scaleOut) { o, v in
            o.server.reusePort = try v.flag()
        },

        // Access control.
        OptionDescriptor("auth", value: "URL", "ask the app (http:// only) before a protected stream opens", section: .access) { o, v in
            o.server.authURL = v.text.isEmpty ? nil : try v.httpURL()
        },
        OptionDescriptor("auth-timeout", value: "MS", default: "1000", "how long to wait for the app", section: .access) { o, v in
            o.server.authTimeoutMilliseconds = try v.integer(1...600_000)
        },
        OptionDescriptor("jwt-key", value: "KEY", "accept HS256 JWTs signed with KEY", section: .access) { o, v in
            o.server.jwtKey = v.optionalText
        },
        OptionDescriptor(
            "protect", value: "GLOB[,GLOB...]", default: "every channel with --auth or --jwt-key",
            "channels that need authorization (* within a segment, ** across)", section: .access
        ) { o, v in
            let globs = v.text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            guard !globs.isEmpty, !globs.contains(where: \.isEmpty) else { throw v.fail("channel globs separated by commas") }
            o.server.protectedChannels = globs
        },

        // Presence and webhooks.
        OptionDescriptor("leave-grace", value: "SEC", default: "5", "a user leaves once without a connection this long", section: .presence) { o, v in
            o.server.leaveGraceSeconds = try v.seconds()
        },
        OptionDescriptor(
            "presence-ttl", value: "SEC", default: "10", "with --redis: a node not heard from this long drops out of presence; its users leave",
            section: .presence
        ) { o, v in
            o.server.presenceTTLSeconds = try v.seconds(positive: true)
        },
        OptionDescriptor("webhook", value: "URL", "POST presence events here (http:// only)", section: .presence) { o, v in
            o.server.webhookURL = v.text.isEmpty ? nil : try v.httpURL()
        },
        OptionDescriptor("webhook-secret", value: "S", "sign webhooks with S (whsec_BASE64 or plain)", section: .presence) { o, v in
            if let secret = v.optionalText, WebhookSignature.key(secret: secret) == nil {
                throw CommandLineOptions.UsageError(message: "\(v.origin): a whsec_ secret must be followed by base64 (as Standard Webhooks secrets are)")
            }
            o.server.webhookSecret = v.optionalText
        },
    ]
}
