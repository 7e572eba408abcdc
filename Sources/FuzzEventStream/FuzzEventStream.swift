import Foundation
import EventStream
import FuzzSupport

/// libFuzzer target for `EventStreamParser`: line ends (CR, LF, CRLF split across
/// pieces), the BOM, fields, comments, ids with NUL, retry values, and the line
/// and data limits.
///
/// The first two bytes pick a split offset, the third small limits and whether
/// comments are reported; the rest is fed whole, split there, and byte by byte.
/// All three must produce the same outputs and last event id, and every event
/// must be one a client can rely on.
///
/// Built with `-sanitize=fuzzer -DFUZZING` (Tests/Fuzz/run.sh) `main` hands
/// over to libFuzzer; a plain build runs the files named as arguments once.
enum FuzzEventStream {
    struct Limits {
        var line: Int
        var data: Int
        var comments: Bool
    }

    static func run(_ pieces: [ArraySlice<UInt8>], _ limits: Limits) -> ([EventStreamParser.Output], String) {
        var parser = EventStreamParser(maxLineBytes: limits.line, maxDataBytes: limits.data, reportsComments: limits.comments)
        var out: [EventStreamParser.Output] = []
        for piece in pieces {
            piece.withUnsafeBytes { parser.feed($0) { out.append($0) } }
        }
        parser.finish()
        for output in out {
            switch output {
            case .event(let event):
                precondition(!event.type.isEmpty, "empty type")
                precondition(!event.data.utf8.contains(0x0D), "CR in data")
                precondition(!event.type.utf8.contains(where: { $0 == 0x0A || $0 == 0x0D }), "line break in a type")
                precondition(!event.lastEventID.utf8.contains(where: { $0 == 0 || $0 == 0x0A || $0 == 0x0D }), "NUL or line break in an id")
                precondition(event.id == nil || event.id == event.lastEventID, "id and last id differ")
            case .retry(let ms):
                precondition(ms >= 0)
            case .comment(let text):
                precondition(limits.comments, "comment reported unasked")
                precondition(!text.utf8.contains(where: { $0 == 0x0A || $0 == 0x0D }))
            case .lineTooLong, .eventTooLong:
                break
            }
        }
        return (out, parser.lastEventID)
    }

    static func test(_ data: UnsafeRawBufferPointer) {
        guard data.count >= 3 else { return }
        let input = Array(data[3...])[...]
        let split = (Int(data[0]) << 8 | Int(data[1])) % (input.count + 1)
        let small = data[2] & 1 == 1
        let limits = Limits(line: small ? 1 + Int(data[2] >> 3) : 1 << 20, data: small ? 2 + Int(data[2] >> 2) : 16 << 20, comments: data[2] & 2 == 2)
        SplitCheck.agree(input, split: split, same: { $0.0 == $1.0 && $0.1 == $1.1 }) { run($0, limits) }
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzEventStreamOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    FuzzEventStream.test(UnsafeRawBufferPointer(start: data, count: size))
    return 0
}

/// The entry point: libFuzzer's driver when fuzzing, otherwise a corpus replay.
@main
enum FuzzEventStreamMain {
    static func main() {
        FuzzEntry.run(fuzzEventStreamOne) { FuzzEventStream.test($0) }
    }
}
