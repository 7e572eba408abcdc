import Foundation
import FuzzSupport
import HTTP

/// libFuzzer target for `RequestParser`: request lines, header fields, fixed and
/// chunked bodies, pipelining.
///
/// The input is fed whole, split at an offset the fuzzer picks (the first two
/// bytes), and byte by byte; all three must produce the same heads, bodies,
/// ends and failure. Small header limits make the 431 paths reachable.
///
/// Built with `-sanitize=fuzzer -DFUZZING` (Tests/Fuzz/run.sh) `main` hands
/// over to libFuzzer; a plain build runs the files named as arguments once, so
/// the same executable replays a corpus or a crash.
enum FuzzHTTP {
    /// What the parser produced for one way of feeding the input.
    struct Transcript: Equatable {
        var heads: [RequestHead] = []
        var bodies: [[UInt8]] = []
        var ends = 0
        var failure: HTTPError?
    }

    static let maxHeaderBytes = 512
    static let maxHeaderCount = 8

    static func run(_ pieces: [ArraySlice<UInt8>]) -> Transcript {
        var parser = RequestParser(maxHeaderBytes: maxHeaderBytes, maxHeaderCount: maxHeaderCount)
        var inbox: [UInt8] = []
        var out = Transcript()
        var body: [UInt8]? = nil
        for piece in pieces {
            inbox += piece
            // Every pass consumes bytes or produces an output; a parser that
            // does neither twice running would spin the connection's loop.
            var idle = 0
            while true {
                let (consumed, output) = inbox.withUnsafeBytes { parser.parse($0) }
                precondition(consumed >= 0 && consumed <= inbox.count, "consumed \(consumed) of \(inbox.count)")
                if case .body(let range) = output {
                    precondition(range.lowerBound >= 0 && range.upperBound <= consumed && !range.isEmpty, "body range \(range) of \(consumed)")
                    precondition(body != nil, "body bytes outside a request")
                    body! += inbox[range]
                }
                inbox.removeFirst(consumed)
                idle = consumed == 0 ? idle + 1 : 0
                precondition(idle < 4, "parser makes no progress")
                guard let output else {
                    if consumed == 0 { break }
                    continue
                }
                switch output {
                case .head(let head):
                    precondition(body == nil, "a head inside a request")
                    check(head)
                    out.heads.append(head)
                    body = []
                case .body:
                    break
                case .end:
                    precondition(body != nil, "an end outside a request")
                    out.bodies.append(body!)
                    out.ends += 1
                    body = nil
                case .failure(let error):
                    precondition([400, 431, 501, 505].contains(error.status), "status \(error.status)")
                    out.failure = error
                    // A failed parser stays failed.
                    let (again, next) = inbox.withUnsafeBytes { parser.parse($0) }
                    precondition(again == 0 && next == nil, "output after a failure")
                    return out
                }
            }
        }
        return out
    }

    /// What the server relies on in a head it is given.
    static func check(_ head: RequestHead) {
        precondition(!head.method.isEmpty && !head.target.isEmpty)
        precondition(head.minorVersion == 0 || head.minorVersion == 1)
        precondition(!head.target.utf8.contains(where: { $0 <= 0x20 || $0 == 0x7F }), "control or space in the target")
        precondition(head.headers.count <= maxHeaderCount)
        for field in head.headers {
            precondition(!field.name.isEmpty)
            precondition(!field.name.utf8.contains(where: { $0 <= 0x20 || $0 == 0x3A }), "bad byte in a field name")
            precondition(!field.value.utf8.contains(where: { $0 == 0 || $0 == 0x0A || $0 == 0x0D }), "CR, LF or NUL in a value")
        }
        // The helpers the router and connection call on every head.
        _ = head.keepAlive
        _ = head.accepts(encoding: "gzip")
        _ = head.header("Last-Event-ID")
        let path = head.rawPath
        let query = head.rawQuery
        precondition(!path.contains("?"))
        if let query { precondition(path.utf8.count + 1 + query.utf8.count == head.target.utf8.count) }
        _ = Query.parse(query)
        _ = Query.percentDecode(path)
    }

    static func test(_ data: UnsafeRawBufferPointer) {
        guard data.count >= 2 else { return }
        let input = Array(data[2...])[...]
        let split = (Int(data[0]) << 8 | Int(data[1])) % (input.count + 1)
        SplitCheck.agree(input, split: split) { run($0) }
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzHTTPOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    FuzzHTTP.test(UnsafeRawBufferPointer(start: data, count: size))
    return 0
}

/// The entry point: libFuzzer's driver when fuzzing, otherwise a corpus replay.
@main
enum FuzzHTTPMain {
    static func main() {
        FuzzEntry.run(fuzzHTTPOne) { FuzzHTTP.test($0) }
    }
}
