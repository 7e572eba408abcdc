import Foundation
import Reactor
import Server
import Testing

@testable import App
@testable import Feeds

/// The repository's top folder (public/, feeds/, docs/, Makefile).
let repositoryFolder = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent().path

/// A fresh folder under the system temp folder, removed by the caller.
func temporaryFolder(_ name: String = "ops") throws -> String {
    let path = NSTemporaryDirectory() + "sse-\(name)-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

@Suite("Command line")
struct CommandLineOptionsTests {
    typealias Parsed = CommandLineOptions

    @Test("every option has one long name, at most one short one, and its SSE_ variable")
    func tableIsConsistent() {
        let longs = Parsed.table.map(\.long)
        #expect(Set(longs).count == longs.count)
        let shorts = Parsed.table.compactMap(\.short)
        #expect(Set(shorts).count == shorts.count)
        let names = Set(Parsed.environmentNames)
        for expected in ["SSE_PORT", "SSE_MAX_CLIENTS", "SSE_LOG_FORMAT", "SSE_REDIS", "SSE_JWT_KEY", "SSE_WEBHOOK_SECRET", "SSE_PUBLISH_TOKEN"] {
            #expect(names.contains(expected))
            #expect(Parsed.help.contains(expected))
        }
        for option in Parsed.table { #expect(Parsed.help.contains("--" + option.long)) }
    }

    @Test("the contract's later options are parsed and stored")
    func laterOptions() throws {
        let options = try Parsed.parse([
            "--max-channels", "7", "--max-memory", "512M", "--body-timeout", "2.5", "--log-format", "json", "--log-timestamps",
            "--access-log", "-", "--redis", "redis://:pw@localhost:6379/2", "--reuse-port", "--auth", "http://127.0.0.1:9/auth",
            "--auth-timeout", "250", "--jwt-key", "k", "--protect", "private/**, team/*", "--leave-grace", "0.5",
            "--webhook", "http://127.0.0.1:9/hook", "--webhook-secret", "whsec_abc", "--threads", "3",
        ])
        let server = options.server
        #expect(server.maxChannels == 7)
        #expect(server.maxMemory == 512 << 20)
        #expect(server.bodyTimeoutSeconds == 2.5)
        #expect(server.logFormat == .json)
        #expect(options.logTimestamps == true)
        #expect(server.accessLogPath == "-")
        #expect(server.redisURL == "redis://:pw@localhost:6379/2")
        #expect(server.reusePort)
        #expect(server.authURL == "http://127.0.0.1:9/auth")
        #expect(server.authTimeoutMilliseconds == 250)
        #expect(server.jwtKey == "k")
        #expect(server.protectedChannels == ["private/**", "team/*"])
        #expect(server.leaveGraceSeconds == 0.5)
        #expect(server.webhookURL == "http://127.0.0.1:9/hook")
        #expect(server.webhookSecret == "whsec_abc")
        #expect(server.loopCount == 3)
        #expect(try Parsed.parse(["--redis", "unix:///run/redis.sock?db=1"]).server.redisURL == "unix:///run/redis.sock?db=1")
        #expect(ServerConfiguration().maxMemory > 0)
    }

    @Test("every option comes from its SSE_ variable; a flag wins; booleans read 1/true/yes and 0/false/no")
    func environment() throws {
        let env = ["SSE_PORT": "0", "SSE_MAX_CLIENTS": "9", "SSE_GZIP": "yes", "SSE_LOG_FORMAT": "json", "SSE_BUFFER": "4", "SSE_SOURCE": "stdin@in"]
        let fromEnvironment = try Parsed.parse([], environment: env)
        #expect(fromEnvironment.server.port == 0)
        #expect(fromEnvironment.server.maxClients == 9)
        #expect(fromEnvironment.server.gzip)
        #expect(fromEnvironment.server.logFormat == .json)
        #expect(fromEnvironment.sources.map(\.description) == ["stdin@in"])
        let flagsWin = try Parsed.parse(["--buffer", "6", "ticker@t"], environment: env)
        #expect(flagsWin.server.bufferSize == 6)
        #expect(flagsWin.sources.map(\.description) == ["ticker@t"])
        // A flag also wins over a bad variable for the same option, and over its sibling's.
        #expect(try Parsed.parse(["--port", "1"], environment: ["SSE_PORT": "nope"]).server.port == 1)
        #expect(try Parsed.parse(["-q"], environment: ["SSE_VERBOSE": "1"]).logLevel == .warning)
        #expect(try Parsed.parse([], environment: ["SSE_GZIP": "0"]).server.gzip == false)
        #expect(try Parsed.parse([], environment: ["SSE_GZIP": "TRUE"]).server.gzip == true)
        #expect(try Parsed.parse([], environment: ["SSE_HELP": "1"]).showHelp == false)
    }

    @Test("a bad variable is a usage error naming the variable")
    func badVariable() {
        for (name, value) in [("SSE_PORT", "http"), ("SSE_GZIP", "maybe"), ("SSE_LOG_FORMAT", "xml"), ("SSE_MAX_MEMORY", "lots")] {
            do {
                _ = try Parsed.parse([], environment: [name: value])
                Issue.record("\(name)=\(value) was accepted")
            } catch {
                #expect(error.message.contains(name))
            }
        }
    }

    @Test("bad values are refused with what was expected")
    func badValues() {
        func message(_ arguments: [String]) -> String? {
            do {
                _ = try Parsed.parse(arguments)
                return nil
            } catch { return error.message }
        }
        #expect(message(["--redis", "http://x"])?.contains("redis://") == true)
        #expect(message(["--auth", "https://app/auth"])?.contains("TLS is not built in") == true)
        #expect(message(["--webhook", "https://app/hook"])?.contains("TLS proxy") == true)
        #expect(message(["--webhook", "ftp://app"])?.contains("http://") == true)
        #expect(message(["--public", "/nonexistent-sse"])?.contains("no such folder") == true)
        #expect(message([]) == nil)
        #expect(message(["stdin", "stdin@other"]) == "stdin can feed only one source")
        #expect(message(["--max-memory", "0"]) != nil)
        #expect(message(["--header-timeout", "0"]) != nil)
        #expect(message(["--protect", ","]) != nil)
        #expect(message(["--gzip=perhaps"]) != nil)
        #expect(message(["--port"]) == "--port needs a value")
        #expect(message(["--nope"]) == "unknown option '--nope'")
    }

    @Test("sizes take K, M and G")
    func sizes() throws {
        #expect(try Parsed.parse(["--max-body", "64K"]).server.maxBody == 64 << 10)
        #expect(try Parsed.parse(["--max-memory", "2G"]).server.maxMemory == 2 << 30)
        #expect(try Parsed.parse(["--max-memory=1000"]).server.maxMemory == 1000)
    }

    @Test("the dashboard and feeds: the working folder first, then the share folder beside the binary")
    func resourceLookup() throws {
        let root = try temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let share = root + "/prefix/share/sse-serve"
        let work = root + "/work"
        for folder in [share + "/public", share + "/feeds", work] {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        }
        #expect(ResourceSearch.shareDirectory(besideBinary: root + "/prefix/bin/sse-serve") == share)
        let search = ResourceSearch(workingDirectory: work, shareDirectory: share)
        var options = try Parsed.parse([], resources: search)
        #expect(options.server.publicDirectory == share + "/public")
        #expect(options.publicOrigin == "the installed share folder")
        #expect(options.feedDirectories == [work + "/feeds", share + "/feeds"])
        try FileManager.default.createDirectory(atPath: work + "/public", withIntermediateDirectories: true)
        options = try Parsed.parse([], resources: search)
        #expect(options.server.publicDirectory == work + "/public")
        #expect(try Parsed.parse(["--public", ""], resources: search).server.publicDirectory == nil)
        #expect(try Parsed.parse(["--public", share + "/feeds"], resources: search).server.publicDirectory == share + "/feeds")
        #expect(try Parsed.parse([], resources: ResourceSearch(workingDirectory: root, shareDirectory: nil)).server.publicDirectory == nil)

        // ticker:NAME finds NAME.json in the share folder's feeds when ./feeds lacks it.
        try FileManager.default.copyItem(atPath: repositoryFolder + "/feeds/crypto.json", toPath: share + "/feeds/coins.json")
        let feed = try TickerSource.resolveFeed("coins", feedsDirectory: work + "/feeds", alsoIn: [share + "/feeds"])
        #expect(feed.symbols.first?.symbol == "BTC")
    }
}
