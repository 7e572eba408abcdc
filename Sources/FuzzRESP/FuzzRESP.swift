import Foundation
import FuzzSupport
import RESP

/// libFuzzer target for `RESPReader`, the reader of replies from Redis.
///
/// The input is fed whole, split at an offset the fuzzer picks (the first two
/// bytes), and byte by byte; all three must produce the same replies and the
/// same failure. Every reply must encode back to exactly the bytes it was read
/// from, and small limits make the over-limit paths reachable. The same bytes
/// are also tried as a `--redis` URL.
///
/// Built with `-sanitize=fuzzer -DFUZZING` (Tests/Fuzz/run.sh) `main` hands
/// over to libFuzzer; a plain build runs the files named as arguments once.
enum FuzzRESP {
    struct Transcript: Equatable {
        var values: [RESPValue] = []
        var failure: RESPProtocolError?
    }

    static let limits = RESPReader.Limits(maxBulkLength: 1024, maxArrayLength: 64, maxDepth: 6, maxLineLength: 128)

    static func run(_ pieces: [ArraySlice<UInt8>]) -> Transcript {
        var reader = RESPReader(limits: limits)
        var out = Transcript()
        var consumed = 0
        var fed = 0
        // Status and error lines are decoded as UTF-8 with replacement, so one
        // holding bytes that are not UTF-8 no longer encodes to its own bytes.
        var exact = true
        for piece in pieces {
            reader.feed(piece)
            fed += piece.count
            while true {
                switch reader.next() {
                case .value(let value):
                    check(value, depth: 1)
                    out.values.append(value)
                    consumed += value.encoded.count
                    if !isFaithful(value) { exact = false }
                    continue
                case .needMore:
                    precondition(!exact || consumed + reader.bufferedCount <= fed, "read more than fed: \(consumed) + \(reader.bufferedCount) > \(fed)")
                case .failure(let error):
                    precondition(reader.next() == .failure(error), "a failed reader recovered")
                    out.failure = error
                    return out
                }
                break
            }
        }
        return out
    }

    /// False when a status or error line had bytes that are not UTF-8 (now U+FFFD).
    static func isFaithful(_ value: RESPValue) -> Bool {
        switch value {
        case .simpleString(let text), .error(let text): return !text.unicodeScalars.contains("\u{FFFD}")
        case .array(let elements?): return elements.allSatisfy(isFaithful)
        default: return true
        }
    }

    /// What a caller relies on in a reply it is given. `depth` counts the
    /// arrays with elements around a value (the reader's open arrays; an empty
    /// or nil array is read whole, like a string).
    static func check(_ value: RESPValue, depth: Int) {
        switch value {
        case .bulkString(let bytes?): precondition(bytes.count <= limits.maxBulkLength)
        case .array(let elements?):
            precondition(elements.isEmpty || depth <= limits.maxDepth, "too deep")
            precondition(elements.count <= limits.maxArrayLength)
            for element in elements { check(element, depth: depth + 1) }
        case .simpleString(let text), .error(let text):
            precondition(!text.utf8.contains(13) && !text.utf8.contains(10), "CR or LF in a line")
        default: break
        }
    }

    /// The same bytes as a `--redis` URL: parsed or refused, never a crash,
    /// and what is accepted is usable.
    static func checkURL(_ text: String) {
        do {
            let url = try RedisURL(parsing: text)
            precondition(url.database >= 0)
            switch url.endpoint {
            case .tcp(let host, let port):
                precondition(!host.isEmpty && port >= 1 && port <= 65535)
            case .unix(let path):
                precondition(path.hasPrefix("/") && path.utf8.count <= RedisURL.maxSocketPath)
            }
            _ = url.description
        } catch {
            precondition(error.description.hasPrefix("--redis: "))
        }
    }

    static func test(_ data: UnsafeRawBufferPointer) {
        guard data.count >= 2 else { return }
        let input = Array(data[2...])[...]
        let split = (Int(data[0]) << 8 | Int(data[1])) % (input.count + 1)
        let whole = SplitCheck.agree(input, split: split) { run($0) }
        // What was read must be the input's own bytes: re-encoding gives them back.
        if whole.failure == nil && whole.values.allSatisfy(isFaithful) {
            let encoded = whole.values.flatMap(\.encoded)
            precondition(Array(input.prefix(encoded.count)) == encoded, "replies do not encode back to their bytes")
        }
        checkURL(String(decoding: input, as: UTF8.self))
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRESPOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    FuzzRESP.test(UnsafeRawBufferPointer(start: data, count: size))
    return 0
}

/// The entry point: libFuzzer's driver when fuzzing, otherwise a corpus replay.
@main
enum FuzzRESPMain {
    static func main() {
        FuzzEntry.run(fuzzRESPOne) { FuzzRESP.test($0) }
    }
}
