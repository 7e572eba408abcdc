import EventStream
import Foundation
import Reactor
import Testing

@testable import Feeds

private let feedsDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("feeds").path

private func prices(_ feed: TickerFeed, ticks: Int) -> [[Int64]] {
    var model = TickerModel(feed: feed)
    return (0..<ticks).map { _ in model.step().map(\.price) }
}

@Suite("Ticker")
struct TickerSourceTests {
    @Test("the same seed gives the same prices; another seed other prices")
    func deterministic() {
        let feed = TickerFeed.builtIn
        #expect(prices(feed, ticks: 500) == prices(feed, ticks: 500))
        var other = feed
        other.seed += 1
        #expect(prices(other, ticks: 50) != prices(feed, ticks: 50))
    }

    @Test("prices move, and never fall below a cent")
    func neverBelowACent() {
        let feed = TickerFeed(
            interval: 1, seed: 1, event: nil,
            symbols: [.init(symbol: "DOWN", name: nil, price: 0.05, volatility: 0.5, drift: -0.3, decimals: 2)])
        let all = prices(feed, ticks: 200).map { $0[0] }
        #expect(all.allSatisfy { $0 >= 1 })
        #expect(all.last == 1)
        let moving = prices(.builtIn, ticks: 20).map { $0[0] }
        #expect(Set(moving).count > 5)
    }

    @Test("tick data is JSON with symbol, price, change, changePercent and time")
    func tickJSON() throws {
        let quote = TickerModel.Quote(symbol: "A\"B", name: "N", decimals: 2, price: 14_205, open: 14_250, changeBasisPoints: -32)
        let text = TickerModel.json(quote, time: 1_700_000_000_000, tick: 3)
        #expect(text == #"{"symbol":"A\"B","name":"N","price":142.05,"open":142.50,"change":-0.45,"changePercent":-0.32,"time":1700000000000,"tick":3}"#)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        #expect(object["symbol"] as? String == "A\"B")
        #expect(TickerModel.fixed(5, 4) == "0.0005")
        #expect(TickerModel.fixed(-5, 0) == "-5")
    }

    @Test("the shipped feeds load, and feeds/ticker.json is the built-in feed")
    func shippedFeeds() throws {
        #expect(try TickerFeed.load(path: feedsDirectory + "/ticker.json") == TickerFeed.builtIn)
        let crypto = try TickerFeed.load(path: feedsDirectory + "/crypto.json")
        #expect(crypto.interval < 1)
        _ = try TickerFeed.load(path: feedsDirectory + "/fx.json")
    }

    @Test("feeds are found by path, by name in the feeds directory, or built in")
    func resolve() throws {
        #expect(try TickerSource.resolveFeed(nil, feedsDirectory: "/nonexistent") == .builtIn)
        #expect(try TickerSource.resolveFeed("crypto", feedsDirectory: feedsDirectory).symbols.first?.symbol == "BTC")
        #expect(try TickerSource.resolveFeed(feedsDirectory + "/fx.json", feedsDirectory: "/nonexistent").event == "quote")
        #expect(throws: SourceError.self) { try TickerSource.resolveFeed("nope", feedsDirectory: feedsDirectory) }
    }

    @Test("a bad feed file is refused with a reason")
    func badFeed() {
        let bad = [
            #"{"interval": 0, "seed": 1, "symbols": [{"symbol": "A", "price": 1, "volatility": 0.1}]}"#,
            #"{"interval": 1, "seed": 1, "symbols": []}"#,
            #"{"interval": 1, "seed": 1, "symbols": [{"symbol": "A", "price": -1, "volatility": 0.1}]}"#,
            #"{"interval": 1, "seed": 1}"#,
            "not json",
        ]
        for text in bad {
            #expect(throws: SourceError.self, "\(text)") { try TickerFeed.decode(Data(text.utf8), origin: "test") }
        }
    }

    @Test("the source publishes one event per symbol per tick and stops promptly")
    func publishes() throws {
        let hub = Hub(bufferSize: 1000)
        var feed = TickerFeed.builtIn
        feed.interval = 0.02
        let source = TickerSource(feed: feed, channel: "t")
        try source.start(hub: hub, logger: .silent)
        #expect(waitUntil { events(hub, "t").count >= feed.symbols.count * 3 })
        let start = Date()
        source.stop()
        #expect(source.waitUntilStopped(timeout: 2))
        #expect(Date().timeIntervalSince(start) < 0.5)
        let seen = events(hub, "t")
        #expect(seen.allSatisfy { $0.type == "tick" })
        // The first tick's prices are the model's first step, whatever the clock.
        var model = TickerModel(feed: feed)
        let first = model.step()
        for (event, quote) in zip(seen.prefix(first.count), first) {
            let object = try #require(try JSONSerialization.jsonObject(with: Data(event.data.utf8)) as? [String: Any])
            #expect(object["symbol"] as? String == quote.symbol)
            #expect(object["price"] as? Double == Double(TickerModel.fixed(quote.price, quote.decimals)))
            #expect(object["change"] != nil && object["changePercent"] != nil && object["time"] != nil)
        }
    }

    @Test("the source ends quietly when the hub shuts down")
    func hubClosed() throws {
        let hub = Hub(bufferSize: 10)
        var feed = TickerFeed.builtIn
        feed.interval = 0.01
        let source = TickerSource(feed: feed)
        try source.start(hub: hub, logger: .silent)
        hub.close()
        #expect(source.waitUntilStopped(timeout: 2))
    }
}
