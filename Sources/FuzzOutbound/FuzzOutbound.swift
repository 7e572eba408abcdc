import Foundation
import FuzzSupport
import HTTP
import OutboundHTTP

/// libFuzzer target for the outbound client's `ResponseReader` (the parser
/// plus the bytes a read leaves over): fed whole, split at an offset taken from
/// the input, and byte by byte, it must hand on the same heads and body and
/// end the same way; a body never exceeds its limit.
///
/// The first two bytes pick the split, the third the method (HEAD or GET) and
/// a body limit. Built with `-sanitize=fuzzer -DFUZZING` (Tests/Fuzz/run.sh)
/// `main` hands over to libFuzzer; a plain build replays the files named.
enum FuzzOutbound {
    struct Transcript: Equatable {
        var heads: [ResponseHead] = []
        var body: [UInt8] = []
        var outcome: ResponseReader.Outcome = .needMore
    }

    static func run(_ pieces: [ArraySlice<UInt8>], method: String, maxBodyBytes: UInt64) -> Transcript {
        var reader = ResponseReader(method: method, maxHeaderBytes: 512, maxBodyBytes: maxBodyBytes)
        var out = Transcript()
        for piece in pieces {
            out.outcome = piece.withUnsafeBytes { bytes in
                reader.feed(bytes) { item in
                    switch item {
                    case .head(let head):
                        precondition(out.heads.isEmpty, "two heads for one response")
                        out.heads.append(head)
                    case .body(let bytes):
                        precondition(!out.heads.isEmpty, "body before the head")
                        out.body += bytes
                        precondition(UInt64(out.body.count) <= maxBodyBytes, "body over its limit")
                    }
                    return true
                }
            }
            if out.outcome != .needMore { break }
        }
        if out.outcome == .needMore { out.outcome = reader.finish() }
        // A trailing byte is only seen when it comes with the end.
        if case .end = out.outcome { out.outcome = .end(trailingBytes: false) }
        return out
    }

    static func test(_ data: UnsafeRawBufferPointer) {
        guard let input = ResponseFuzzInput(data) else { return }
        SplitCheck.agree(input.bytes, split: input.split) { run($0, method: input.method, maxBodyBytes: input.maxBodyBytes) }
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOutboundOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    FuzzOutbound.test(UnsafeRawBufferPointer(start: data, count: size))
    return 0
}

/// The entry point: libFuzzer's driver when fuzzing, otherwise a corpus replay.
@main
enum FuzzOutboundMain {
    static func main() {
        FuzzEntry.run(fuzzOutboundOne) { FuzzOutbound.test($0) }
    }
}
