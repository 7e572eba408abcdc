import Foundation
import FuzzSupport
import HTTP

/// libFuzzer target for `ResponseParser`: status lines, header fields, interim
/// responses, fixed, chunked and until-close bodies, kept-alive sequences.
///
/// The first two bytes pick a split offset, the third the request method (HEAD
/// or GET) and whether a body limit applies; the rest is fed whole, split there,
/// and byte by byte, and the connection then closes. All three must produce the
/// same heads, bodies, ends and failure.
///
/// Built with `-sanitize=fuzzer -DFUZZING` (Tests/Fuzz/run.sh) `main` hands
/// over to libFuzzer; a plain build runs the files named as arguments once.
enum FuzzResponse {
    /// What the parser produced for one way of feeding the input.
    struct Transcript: Equatable {
        var heads: [ResponseHead] = []
        var bodies: [[UInt8]] = []
        var ends = 0
        var failure: HTTPError?
    }

    static let maxHeaderBytes = 512
    static let maxHeaderCount = 8

    static func run(_ pieces: [ArraySlice<UInt8>], method: String, maxBodyBytes: UInt64) -> Transcript {
        var parser = ResponseParser(method: method, maxHeaderBytes: maxHeaderBytes, maxHeaderCount: maxHeaderCount, maxBodyBytes: maxBodyBytes)
        var inbox: [UInt8] = []
        var out = Transcript()
        var body: [UInt8]? = nil
        func take(_ output: ResponseParser.Output, _ piece: ArraySlice<UInt8>) -> Bool {
            switch output {
            case .head(let head):
                precondition(body == nil, "a head inside a response")
                check(head)
                out.heads.append(head)
                body = []
            case .body:
                precondition(body != nil, "body bytes outside a response")
                body! += piece
                precondition(UInt64(body!.count) <= maxBodyBytes, "body over its limit")
            case .end:
                precondition(body != nil, "an end outside a response")
                out.bodies.append(body!)
                out.ends += 1
                body = nil
            case .failure(let error):
                precondition(error.status == 502, "status \(error.status)")
                out.failure = error
                return false
            }
            return true
        }
        for piece in pieces {
            inbox += piece
            var idle = 0
            while true {
                let (consumed, output) = inbox.withUnsafeBytes { parser.parse($0) }
                precondition(consumed >= 0 && consumed <= inbox.count, "consumed \(consumed) of \(inbox.count)")
                var bytes: ArraySlice<UInt8> = []
                if case .body(let range) = output {
                    precondition(range.lowerBound >= 0 && range.upperBound <= consumed && !range.isEmpty, "body range \(range) of \(consumed)")
                    bytes = inbox[range]
                }
                inbox.removeFirst(consumed)
                idle = consumed == 0 ? idle + 1 : 0
                precondition(idle < 4, "parser makes no progress")
                guard let output else {
                    if consumed == 0 { break }
                    continue
                }
                if !take(output, bytes) {
                    // A failed parser stays failed.
                    let (again, next) = inbox.withUnsafeBytes { parser.parse($0) }
                    precondition(again == 0 && next == nil, "output after a failure")
                    precondition(parser.finish() == nil, "output at the close after a failure")
                    return out
                }
            }
        }
        if let last = parser.finish() { _ = take(last, []) }
        return out
    }

    /// What a client relies on in a head it is given.
    static func check(_ head: ResponseHead) {
        precondition((100...999).contains(head.status))
        precondition(head.minorVersion == 0 || head.minorVersion == 1)
        precondition(head.headers.count <= maxHeaderCount)
        precondition(!head.reason.utf8.contains(where: { $0 == 0x0A || $0 == 0x0D || $0 == 0 }))
        for field in head.headers {
            precondition(!field.name.isEmpty)
            precondition(!field.name.utf8.contains(where: { $0 <= 0x20 || $0 == 0x3A }), "bad byte in a field name")
            precondition(!field.value.utf8.contains(where: { $0 == 0 || $0 == 0x0A || $0 == 0x0D }), "CR, LF or NUL in a value")
        }
        _ = head.keepAlive
        _ = head.mediaType
        _ = head.header("Retry-After")
    }

    static func test(_ data: UnsafeRawBufferPointer) {
        guard let input = ResponseFuzzInput(data) else { return }
        SplitCheck.agree(input.bytes, split: input.split) { run($0, method: input.method, maxBodyBytes: input.maxBodyBytes) }
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzResponseOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    FuzzResponse.test(UnsafeRawBufferPointer(start: data, count: size))
    return 0
}

/// The entry point: libFuzzer's driver when fuzzing, otherwise a corpus replay.
@main
enum FuzzResponseMain {
    static func main() {
        FuzzEntry.run(fuzzResponseOne) { FuzzResponse.test($0) }
    }
}
