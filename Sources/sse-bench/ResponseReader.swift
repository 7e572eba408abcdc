import Glibc
import HTTP

/// One connection's `HTTP.ResponseParser` and the few bytes it has not consumed yet
/// (a head or a chunk-size line cut by a read). Reads go into a buffer shared by
/// every connection of a worker, so those bytes are carried here between reads
/// and put back in front of the next read.
struct ResponseReader {
    private var parser = ResponseParser()
    private var carry: [UInt8] = []

    /// Starts over for a new response on the same connection.
    mutating func reset() {
        parser = ResponseParser()
        carry.removeAll()
    }

    /// One `read` into `buffer`, behind the carried bytes. Returns what `read` returned
    /// and how many bytes of `buffer` are now to be parsed.
    mutating func read(_ fd: Int32, into buffer: UnsafeMutablePointer<UInt8>, capacity: Int) -> (n: Int, total: Int) {
        let kept = carry.count
        if kept > 0 { carry.withUnsafeBufferPointer { buffer.update(from: $0.baseAddress!, count: kept) } }
        let n = Glibc.read(fd, buffer + kept, capacity - kept)
        if n <= 0 { return (n, kept) }
        carry.removeAll(keepingCapacity: true)
        return (n, kept + n)
    }

    /// Parses `buffer[0..<total]`, calling `handle` with each output (body ranges are
    /// in `buffer`) until it returns false or more input is needed; keeps the rest.
    mutating func parse(_ buffer: UnsafeMutablePointer<UInt8>, _ total: Int, _ handle: (ResponseParser.Output) -> Bool) {
        var start = 0
        while true {
            let (consumed, output) = parser.parse(UnsafeRawBufferPointer(start: buffer + start, count: total - start))
            let base = start
            start += consumed
            guard let output else {
                if consumed == 0 { break }
                continue
            }
            let going: Bool
            if case .body(let range) = output {
                going = handle(.body(base + range.lowerBound..<base + range.upperBound))
            } else {
                going = handle(output)
            }
            if !going { return }
        }
        if start < total { carry.append(contentsOf: UnsafeBufferPointer(start: buffer + start, count: total - start)) }
    }
}
