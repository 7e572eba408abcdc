import EventStream
import Foundation

/// The price simulation behind the ticker, with no clock and no threads:
/// geometric Brownian motion per symbol from one seeded generator, so the same
/// feed gives the same prices tick after tick.
struct TickerModel: Sendable {
    /// One symbol's state after a tick, in fixed-point units of its decimals.
    struct Quote: Sendable, Equatable {
        var symbol: String
        var name: String?
        var decimals: Int
        /// Price in units of 10^-decimals.
        var price: Int64
        var open: Int64
        /// Change since open in hundredths of a percent.
        var changeBasisPoints: Int64
    }

    let feed: TickerFeed
    private var random: SplitMix64
    private var prices: [Double]
    private(set) var ticks = 0

    init(feed: TickerFeed) {
        self.feed = feed
        self.random = SplitMix64(seed: feed.seed)
        self.prices = feed.symbols.map(\.price)
    }

    /// Moves every symbol one tick: `p *= exp(drift - vol²/2 + vol·Z)`, never below a cent.
    mutating func step() -> [Quote] {
        ticks += 1
        var quotes: [Quote] = []
        quotes.reserveCapacity(prices.count)
        for (i, symbol) in feed.symbols.enumerated() {
            let sigma = symbol.volatility
            let mu = symbol.drift ?? 0
            let z = random.nextGaussian()
            prices[i] = max(prices[i] * exp(mu - sigma * sigma / 2 + sigma * z), 0.01)
            let decimals = symbol.decimals ?? 2
            let scale = pow(10, Double(decimals))
            let floor = Int64((0.01 * scale).rounded(.up))
            let price = max(Int64((prices[i] * scale).rounded()), max(floor, 1))
            let open = max(Int64((symbol.price * scale).rounded()), 1)
            let bp = Int64((Double(price - open) / Double(open) * 10_000).rounded())
            quotes.append(
                Quote(symbol: symbol.symbol, name: symbol.name, decimals: decimals, price: price, open: open, changeBasisPoints: bp))
        }
        return quotes
    }

    /// The event data of one quote: `{"symbol","name"?,"price","open","change","changePercent","time","tick"}`.
    static func json(_ q: Quote, time: UInt64, tick: Int) -> String {
        var s = "{\"symbol\":" + jsonString(q.symbol)
        if let name = q.name { s += ",\"name\":" + jsonString(name) }
        s += ",\"price\":" + fixed(q.price, q.decimals)
        s += ",\"open\":" + fixed(q.open, q.decimals)
        s += ",\"change\":" + fixed(q.price - q.open, q.decimals)
        s += ",\"changePercent\":" + fixed(q.changeBasisPoints, 2)
        s += ",\"time\":\(time),\"tick\":\(tick)}"
        return s
    }

    /// `units` × 10^-decimals as a JSON number without float noise (`-0.05`, `142.50`).
    static func fixed(_ units: Int64, _ decimals: Int) -> String {
        let negative = units < 0
        let magnitude = units.magnitude
        if decimals == 0 { return (negative ? "-" : "") + String(magnitude) }
        var divisor: UInt64 = 1
        for _ in 0..<decimals { divisor *= 10 }
        var fraction = String(magnitude % divisor)
        fraction = String(repeating: "0", count: decimals - fraction.count) + fraction
        return (negative ? "-" : "") + String(magnitude / divisor) + "." + fraction
    }

    static func jsonString(_ text: String) -> String { JSONText.quoted(text) }
}
