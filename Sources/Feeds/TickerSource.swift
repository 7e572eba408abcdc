import EventStream
import Foundation
import Reactor

/// A stock ticker simulator: every `interval` one event per symbol (type `tick`
/// by default, data JSON with symbol, price, change, changePercent, time),
/// all symbols of a tick published as one batch.
public final class TickerSource: Source {
    public static let defaultChannel = "ticker"

    static let kind = SourceKind(
        name: "ticker", usage: "ticker[:FEEDFILE][@CHANNEL]",
        summary: "stock ticker simulator driven by a feed file, or a feed name in ./feeds or the share folder (crypto, fx); default feeds/ticker.json",
        argument: .optional,
        defaultChannel: { _ in defaultChannel },
        make: { spec, options throws(SourceError) in
            let feed = try resolveFeed(spec.argument, feedsDirectory: options.feedsDirectory, alsoIn: options.moreFeedsDirectories)
            return TickerSource(feed: feed, channel: spec.channel, name: spec.description)
        })

    public let name: String
    public let channel: String
    public let feed: TickerFeed
    private let thread = SourceThread()

    public init(feed: TickerFeed, channel: String = TickerSource.defaultChannel, name: String? = nil) {
        self.feed = feed
        self.channel = channel
        self.name = name ?? "ticker@\(channel)"
    }

    /// Finds the feed: the path as given, then `FEEDS/NAME` and `FEEDS/NAME.json`
    /// in `feedsDirectory` and then each of `more` (so `ticker:crypto` works
    /// from any folder once installed); with no argument the first
    /// `FEEDS/ticker.json`, else the built-in feed.
    static func resolveFeed(_ argument: String?, feedsDirectory: String, alsoIn more: [String] = []) throws(SourceError) -> TickerFeed {
        let manager = FileManager.default
        let directories = [feedsDirectory] + more
        guard let argument else {
            for directory in directories where manager.fileExists(atPath: directory + "/ticker.json") {
                return try TickerFeed.load(path: directory + "/ticker.json")
            }
            return TickerFeed.builtIn
        }
        var candidates = [argument]
        if !argument.contains("/") {
            for directory in directories {
                candidates += [directory + "/" + argument, directory + "/" + argument + ".json"]
            }
        }
        for path in candidates {
            var isDirectory: ObjCBool = false
            if manager.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue {
                return try TickerFeed.load(path: path)
            }
        }
        throw SourceError("ticker: feed file '\(argument)' not found (looked for \(candidates.joined(separator: ", ")))")
    }

    public func start(hub: Hub, logger: Logger) throws(SourceError) {
        let (feed, channel, name, thread) = (self.feed, self.channel, self.name, self.thread)
        let started = thread.start(name: name) {
            TickerSource.run(feed: feed, channel: channel, hub: hub, logger: logger, thread: thread)
        }
        guard started else { throw SourceError("\(name): already started") }
        logger.debug("\(name): \(feed.symbols.count) symbols every \(feed.interval) s")
    }

    public func stop() { thread.requestStop() }

    public func waitUntilStopped(timeout: Double) -> Bool { thread.waitFinished(timeout: timeout) }

    private static func run(feed: TickerFeed, channel: String, hub: Hub, logger: Logger, thread: SourceThread) {
        var model = TickerModel(feed: feed)
        let type = feed.event ?? "tick"
        let interval = UInt64(feed.interval * 1e9)
        // Ticks are scheduled on the monotonic clock from the start, so they do
        // not drift; after a stall (suspended laptop) the missed ones are skipped.
        var next = Clock.monotonicNanos()
        while !thread.isStopping {
            let quotes = model.step()
            let time = Clock.wallMillis()
            let events = quotes.map { Event(type: type, data: TickerModel.json($0, time: time, tick: model.ticks)) }
            do {
                try hub.publish(events, to: channel)
            } catch .shuttingDown {
                return
            } catch {
                logger.error("ticker: \(error)")
                return
            }
            next += interval
            let now = Clock.monotonicNanos()
            if next <= now { next = now + interval }
            if thread.sleep(seconds: Double(next - now) / 1e9) { return }
        }
    }
}
