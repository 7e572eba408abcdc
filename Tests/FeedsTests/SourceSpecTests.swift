import EventStream
import Foundation
import Glibc
import Testing

@testable import Feeds

@Suite("Source specs")
struct SourceSpecTests {
    @Test("each kind with its default channel")
    func defaults() throws {
        #expect(try SourceSpec.parse("ticker") == SourceSpec(kind: "ticker", channel: "ticker"))
        #expect(try SourceSpec.parse("stdin") == SourceSpec(kind: "stdin", channel: "stdin"))
        #expect(try SourceSpec.parse("tail:/var/log/syslog") == SourceSpec(kind: "tail", argument: "/var/log/syslog", channel: "syslog"))
        #expect(try SourceSpec.parse("tail:app.log") == SourceSpec(kind: "tail", argument: "app.log", channel: "app.log"))
        #expect(try SourceSpec.parse("exec:date") == SourceSpec(kind: "exec", argument: "date", channel: "exec"))
        #expect(try SourceSpec.parse("ticker:feeds/crypto.json") == SourceSpec(kind: "ticker", argument: "feeds/crypto.json", channel: "ticker"))
    }

    @Test("@CHANNEL after the last @ when it is a valid channel name")
    func channelSuffix() throws {
        #expect(try SourceSpec.parse("ticker@prices") == SourceSpec(kind: "ticker", channel: "prices"))
        #expect(try SourceSpec.parse("ticker:crypto@coins/live") == SourceSpec(kind: "ticker", argument: "crypto", channel: "coins/live"))
        #expect(try SourceSpec.parse("stdin@in") == SourceSpec(kind: "stdin", channel: "in"))
        #expect(try SourceSpec.parse("tail:/tmp/a@b.log@logs") == SourceSpec(kind: "tail", argument: "/tmp/a@b.log", channel: "logs"))
        #expect(try SourceSpec.parse("exec:vmstat 1@stats") == SourceSpec(kind: "exec", argument: "vmstat 1", channel: "stats"))
    }

    @Test("exec:ssh user@host tail -f x has no channel suffix")
    func atInsideCommand() throws {
        #expect(try SourceSpec.parse("exec:ssh user@host tail -f x") == SourceSpec(kind: "exec", argument: "ssh user@host tail -f x", channel: "exec"))
        #expect(try SourceSpec.parse("exec:ssh user@host tail -f x@remote").channel == "remote")
    }

    @Test("tail's default channel is the base name, made valid")
    func tailChannel() throws {
        #expect(try SourceSpec.parse("tail:/var/log/my app (1).log").channel == "my_app__1_.log")
        #expect(try SourceSpec.parse("tail:/var/log/h\u{E9}.log").channel == "h_.log")
        #expect(throws: SourceError.self) { try SourceSpec.parse("tail:/var/log/") }
    }

    @Test("bad specs are refused with a readable message")
    func badSpecs() {
        for text in ["", "nope", "ticker:", "stdin:x", "tail", "tail:", "exec", "exec:", "exec:@x", "@x", "Ticker"] {
            #expect(throws: SourceError.self, "\(text)") { try SourceSpec.parse(text) }
        }
        do {
            _ = try SourceSpec.parse("nope")
        } catch {
            #expect(error.message.contains("unknown source 'nope'"))
            #expect(error.message.contains("tail:PATH[@CHANNEL]"))
        }
    }

    @Test("description is the spec in full")
    func description() throws {
        #expect(try SourceSpec.parse("tail:/x/y.log").description == "tail:/x/y.log@y.log")
        #expect(try SourceSpec.parse("stdin").description == "stdin@stdin")
    }

    @Test("every kind is in the registry once, with usage")
    func registry() {
        #expect(SourceKind.all.map(\.name) == ["ticker", "stdin", "tail", "exec", "sse"])
        #expect(SourceKind.all.allSatisfy { $0.usage.hasPrefix($0.name) && !$0.summary.isEmpty })
    }

    @Test("default: stdin for a pipe or a regular file, ticker otherwise")
    func defaultSpec() throws {
        var fds: [Int32] = [-1, -1]
        #expect(pipe(&fds) == 0)
        #expect(SourceSpec.defaultSpec(standardInput: fds[0]).kind == "stdin")
        close(fds[0])
        close(fds[1])
        let file = open("/etc/hostname", O_RDONLY)
        if file >= 0 {
            #expect(SourceSpec.defaultSpec(standardInput: file).kind == "stdin")
            close(file)
        }
        let null = open("/dev/null", O_RDONLY)
        #expect(SourceSpec.defaultSpec(standardInput: null) == SourceSpec(kind: "ticker", channel: "ticker"))
        close(null)
        #expect(SourceSpec.defaultSpec(standardInput: 9999).kind == "ticker")
    }

    @Test("makeSource builds the kind the spec names")
    func makeSource() throws {
        let options = SourceOptions()
        #expect(try SourceSpec.parse("stdin@a").makeSource(options: options) is StdinSource)
        #expect(try SourceSpec.parse("tail:/tmp/x@a").makeSource(options: options) is TailSource)
        #expect(try SourceSpec.parse("exec:true").makeSource(options: options) is ExecSource)
        #expect(try SourceSpec.parse("ticker").makeSource(options: options).channel == "ticker")
        #expect(throws: SourceError.self) { try SourceSpec.parse("ticker:/no/such/feed.json").makeSource(options: options) }
    }
}
