import EventStream
import Foundation

/// A ticker feed file: the symbols to simulate, their start prices and
/// volatility, the interval between ticks and the seed (feeds/README.md).
public struct TickerFeed: Sendable, Equatable, Codable {
    /// One simulated instrument.
    public struct Symbol: Sendable, Equatable, Codable {
        public var symbol: String
        public var name: String?
        /// Start price (the `open` every change is measured from).
        public var price: Double
        /// Standard deviation of the log return per tick (0.002 = about 0.2 % a tick).
        public var volatility: Double
        /// Mean log return per tick; 0 when absent.
        public var drift: Double?
        /// Decimal places of prices; 2 when absent.
        public var decimals: Int?
    }

    /// Seconds between ticks.
    public var interval: Double
    public var seed: UInt64
    /// Event type of the ticks; `tick` when absent.
    public var event: String?
    public var symbols: [Symbol]

    /// Reads and checks a feed file.
    public static func load(path: String) throws(SourceError) -> TickerFeed {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw SourceError("ticker: cannot read feed file '\(path)'")
        }
        return try decode(data, origin: path)
    }

    static func decode(_ data: Data, origin: String) throws(SourceError) -> TickerFeed {
        let feed: TickerFeed
        do {
            feed = try JSONDecoder().decode(TickerFeed.self, from: data)
        } catch {
            throw SourceError("ticker: feed file '\(origin)' is not a valid feed: \(error)")
        }
        if let problem = feed.problem { throw SourceError("ticker: feed file '\(origin)': \(problem)") }
        return feed
    }

    private var problem: String? {
        if !(interval >= 0.01 && interval <= 86400) { return "interval must be between 0.01 and 86400 seconds" }
        if symbols.isEmpty { return "symbols must not be empty" }
        if let type = event, !Event.isValidType(type) {
            return "event must be a non-empty string without CR, LF or NUL"
        }
        for s in symbols {
            if s.symbol.isEmpty { return "a symbol has an empty name" }
            if !(s.price > 0 && s.price.isFinite) { return "\(s.symbol): price must be positive" }
            if !(s.volatility >= 0 && s.volatility < 1) { return "\(s.symbol): volatility must be in [0, 1)" }
            if let d = s.drift, !(abs(d) < 1) { return "\(s.symbol): drift must be in (-1, 1)" }
            if let d = s.decimals, !(0...8).contains(d) { return "\(s.symbol): decimals must be 0 to 8" }
        }
        return nil
    }

    /// The feed a bare `sse-serve` uses when `feeds/ticker.json` is not in the
    /// current directory; the same as the shipped file (a test checks).
    public static let builtIn = TickerFeed(
        interval: 1, seed: 20_240_601, event: "tick",
        symbols: [
            Symbol(symbol: "ACME", name: "Acme Corporation", price: 142.50, volatility: 0.004, drift: 0, decimals: 2),
            Symbol(symbol: "GLOBX", name: "Globex", price: 87.20, volatility: 0.006, drift: 0, decimals: 2),
            Symbol(symbol: "INITECH", name: "Initech", price: 23.75, volatility: 0.008, drift: 0, decimals: 2),
            Symbol(symbol: "UMBR", name: "Umbrella Corp", price: 310.00, volatility: 0.003, drift: 0, decimals: 2),
            Symbol(symbol: "WAYNE", name: "Wayne Enterprises", price: 512.40, volatility: 0.0025, drift: 0, decimals: 2),
            Symbol(symbol: "STARK", name: "Stark Industries", price: 968.10, volatility: 0.005, drift: 0, decimals: 2),
        ])
}
