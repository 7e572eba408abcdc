import Foundation
import Testing

import EventStream

/// What a parse produced, in order: records and errors.
private enum Outcome: Equatable, CustomStringConvertible {
    case record(String?, String, String)  // channel, type, data
    case error(Int)  // line

    var description: String {
        switch self {
        case .record(let c, let t, let d): return "record(\(c ?? "nil"), \(t), \(d.debugDescription))"
        case .error(let line): return "error(line \(line))"
        }
    }
}

/// Parses `input` fed in the given pieces, then finishes.
private func parse(_ input: [UInt8], format: RecordFormat, max: Int = 1 << 20, cuts: [Int]) -> [Outcome] {
    var parser = RecordParser(format: format, maxRecordBytes: max)
    var out: [Outcome] = []
    let emit: (Result<Record, RecordError>) -> Void = { result in
        switch result {
        case .success(let r): out.append(.record(r.channel, r.event.type, r.event.data))
        case .failure(let e): out.append(.error(e.line))
        }
    }
    var start = 0
    for cut in cuts + [input.count] {
        input[start..<cut].withUnsafeBytes { parser.feed($0, emit) }
        start = cut
    }
    parser.finish(emit)
    if format == .line {
        #expect(parseLines(input, max: max, cuts: cuts) == out, "feedLines agrees with feed")
    }
    return out
}

/// The same through `feedLines`, the byte path with no String per line.
private func parseLines(_ input: [UInt8], max: Int, cuts: [Int]) -> [Outcome] {
    var parser = RecordParser(format: .line, maxRecordBytes: max)
    var out: [Outcome] = []
    let line: (UnsafeRawBufferPointer) -> Void = { out.append(.record(nil, "message", String(decoding: $0, as: UTF8.self))) }
    let failure: (RecordError) -> Void = { out.append(.error($0.line)) }
    var start = 0
    for cut in cuts + [input.count] {
        input[start..<cut].withUnsafeBytes { parser.feedLines($0, line: line, failure: failure) }
        start = cut
    }
    parser.finishLines(line: line, failure: failure)
    return out
}

/// Parses `input` whole, split in two at every offset, in three at every pair of
/// offsets (short inputs), and byte by byte; all must agree. Returns the result.
private func parseEverySplit(
    _ text: String, format: RecordFormat, max: Int = 1 << 20, sourceLocation: SourceLocation = #_sourceLocation
) -> [Outcome] {
    parseEverySplit(Array(text.utf8), format: format, max: max, sourceLocation: sourceLocation)
}

private func parseEverySplit(
    _ input: [UInt8], format: RecordFormat, max: Int = 1 << 20, sourceLocation: SourceLocation = #_sourceLocation
) -> [Outcome] {
    let whole = parse(input, format: format, max: max, cuts: [])
    for i in 0...input.count {
        let split = parse(input, format: format, max: max, cuts: [i])
        #expect(split == whole, "split at \(i)", sourceLocation: sourceLocation)
        if split != whole { return whole }
    }
    if input.count <= 64 {
        for i in 0...input.count {
            for j in i...input.count {
                let split = parse(input, format: format, max: max, cuts: [i, j])
                #expect(split == whole, "split at \(i), \(j)", sourceLocation: sourceLocation)
                if split != whole { return whole }
            }
        }
    }
    let bytewise = parse(input, format: format, max: max, cuts: Array(0..<input.count))
    #expect(bytewise == whole, "byte by byte", sourceLocation: sourceLocation)
    return whole
}

private func msg(_ data: String, _ type: String = "message", channel: String? = nil) -> Outcome {
    .record(channel, type, data)
}

@Suite("Record parser")
struct RecordParserTests {
    // MARK: line

    @Test("line: each LF or CRLF line is one event, empty lines skipped")
    func lineBasics() {
        #expect(parseEverySplit("a\nbb\r\n\n\r\nccc\n", format: .line) == [msg("a"), msg("bb"), msg("ccc")])
    }

    @Test("line: a final line without LF is emitted at finish")
    func lineUnterminated() {
        #expect(parseEverySplit("one\ntwo", format: .line) == [msg("one"), msg("two")])
        #expect(parseEverySplit("one\ntwo\r", format: .line) == [msg("one"), msg("two")])
    }

    @Test("line: whitespace and lone CR are data")
    func lineWhitespace() {
        #expect(parseEverySplit("  \na\rb\n", format: .line) == [msg("  "), msg("a\rb")])
    }

    @Test("line: nothing at all gives nothing")
    func lineEmptyInput() {
        #expect(parseEverySplit("", format: .line) == [])
        #expect(parseEverySplit("\n\n\r\n", format: .line) == [])
    }

    @Test("line: invalid UTF-8 is replaced, never a crash")
    func lineInvalidUTF8() {
        let input: [UInt8] = [0x61, 0xFF, 0x62, 0x0A, 0xE2, 0x82, 0x0A, 0xE2, 0x82, 0xAC, 0x0A]
        #expect(parseEverySplit(input, format: .line) == [msg("a\u{FFFD}b"), msg("\u{FFFD}"), msg("€")])
    }

    @Test("line: a byte order mark at the start is dropped")
    func lineBOM() {
        #expect(parseEverySplit("\u{FEFF}x\n\u{FEFF}y\n", format: .line) == [msg("x"), msg("\u{FEFF}y")])
        // The BOM is not part of the record, whether the line arrives whole or in pieces.
        #expect(parseEverySplit("\u{FEFF}abcde\r\n", format: .line, max: 5) == [msg("abcde")])
        #expect(parseEverySplit("\u{FEFF}data:\n\n", format: .sse, max: 5) == [msg("")])
    }

    @Test("line: a line over the limit is an error with its number; the next line goes on")
    func lineTooLong() {
        let input = "ok\n" + String(repeating: "x", count: 20) + "\nafter\n" + String(repeating: "y", count: 10) + "\r\nz"
        #expect(parseEverySplit(input, format: .line, max: 10) == [msg("ok"), .error(2), msg("after"), msg(String(repeating: "y", count: 10)), msg("z")])
        // A limit-sized line split anywhere is still accepted, CR or not.
        #expect(parseEverySplit("0123456789\r\n", format: .line, max: 10) == [msg("0123456789")])
        #expect(parseEverySplit("0123456789x", format: .line, max: 10) == [.error(1)])
    }

    @Test("line: an endless line keeps memory bounded")
    func lineEndless() {
        var parser = RecordParser(format: .line, maxRecordBytes: 1000)
        var errors = 0
        var records: [String] = []
        let chunk = [UInt8](repeating: 0x78, count: 4096)
        for _ in 0..<1000 {
            chunk.withUnsafeBytes { buffer in
                parser.feed(buffer) { result in
                    switch result {
                    case .success(let r): records.append(r.event.data)
                    case .failure: errors += 1
                    }
                }
            }
        }
        Array("\nend\n".utf8).withUnsafeBytes { parser.feed($0) { if case .success(let r) = $0 { records.append(r.event.data) } } }
        #expect(errors == 1)
        #expect(records == ["end"])
    }

    // MARK: sse

    @Test("sse: blocks of event and data fields end at a blank line")
    func sseBasics() {
        let input = "event: price\ndata: 1\n\ndata: a\ndata:b\ndata:  c\n\n"
        #expect(parseEverySplit(input, format: .sse) == [msg("1", "price"), msg("a\nb\n c")])
    }

    @Test("sse: comments, id and retry are ignored; a block without data is no event")
    func sseIgnored() {
        let input = ": hello\nid: 7\nretry: 10\n\nevent: x\n\n:only comment\n\ndata\nid: 9\nfoo: bar\n\n"
        #expect(parseEverySplit(input, format: .sse) == [msg("")])
    }

    @Test("sse: CRLF, lone CR and LF all end lines")
    func sseLineEnds() {
        #expect(parseEverySplit("data: a\r\ndata: b\r\n\r\ndata: c\rdata: d\r\rdata: e\n\n", format: .sse) == [msg("a\nb"), msg("c\nd"), msg("e")])
    }

    @Test("sse: empty event type means message; type is reset after each block")
    func sseTypeReset() {
        #expect(parseEverySplit("event:\ndata: a\n\nevent: t\ndata: b\n\ndata: c\n\n", format: .sse) == [msg("a"), msg("b", "t"), msg("c")])
    }

    @Test("sse: a last block without a blank line is still an event at the end of input")
    func sseUnterminated() {
        #expect(parseEverySplit("data: a\n\ndata: b", format: .sse) == [msg("a"), msg("b")])
        #expect(parseEverySplit("data: a\n\ndata: b\n", format: .sse) == [msg("a"), msg("b")])
    }

    @Test("sse: a block over the limit is one error at its first line and is skipped")
    func sseTooLong() {
        let input = "data: ok\n\nevent: big\ndata: 0123456789\ndata: 0123456789\n\ndata: after\n\n"
        #expect(parseEverySplit(input, format: .sse, max: 20) == [msg("ok"), .error(3), msg("after")])
        let longLine = "data: ok\n\n: c\ndata: " + String(repeating: "z", count: 50) + "\ndata: more\n\ndata: after\n\n"
        #expect(parseEverySplit(longLine, format: .sse, max: 20) == [msg("ok"), .error(3), msg("after")])
    }

    @Test("sse: a NUL in the event type is refused")
    func sseNulType() {
        #expect(parseEverySplit("event: a\u{0}b\ndata: x\n\ndata: y\n\n", format: .sse) == [.error(1), msg("y")])
    }

    @Test("sse: invalid UTF-8 is replaced")
    func sseInvalidUTF8() {
        let input: [UInt8] = Array("data: ".utf8) + [0xC3] + Array("\n\n".utf8)
        #expect(parseEverySplit(input, format: .sse) == [msg("\u{FFFD}")])
    }

    // MARK: json

    @Test("json: channel, event and string data")
    func jsonBasics() {
        let input = "{\"data\":\"hi\"}\n{\"event\":\"t\",\"channel\":\"a/b\",\"data\":\"x\\ny\"}\r\n\n   \n{\"channel\":null,\"event\":null,\"data\":\"\"}"
        #expect(parseEverySplit(input, format: .json) == [msg("hi"), msg("x\ny", "t", channel: "a/b"), msg("")])
    }

    @Test("json: non-string data is sent as its JSON text")
    func jsonNonString() {
        let input = """
            {"data": {"b": 1, "a": [true, null, 1.5, "x/y"]}}
            {"data": 42}
            {"data": false}
            {"data": null}
            {"data": [1, 2]}

            """
        #expect(
            parseEverySplit(input, format: .json) == [
                msg("{\"b\":1,\"a\":[true,null,1.5,\"x/y\"]}"), msg("42"), msg("false"), msg("null"), msg("[1,2]"),
            ])
    }

    @Test("json: data's text keeps the sender's key order and numbers, without white space outside strings")
    func jsonDataText() {
        let input = #"""
            { "event" : "e" , "data" : { "s" : "a } b ] \" {" , "t" : [ 1.50 , -2e3 ] } , "channel" : "c" }
            {"data": ["q\"}", 2], "x": {"data": 1}}
            {"\u0064ata": {"b": 1, "a": 2}}
            {"data":1,"data":{"z": 0}}

            """#
        #expect(
            parseEverySplit(input, format: .json) == [
                msg(#"{"s":"a } b ] \" {","t":[1.50,-2e3]}"#, "e", channel: "c"),
                msg(#"["q\"}",2]"#),
                msg(#"{"a":2,"b":1}"#),
                msg(#"{"z":0}"#),
            ])
    }

    @Test("json: malformed lines are errors with their line numbers; the rest goes on")
    func jsonMalformed() {
        let input = """
            {"data": "ok"}
            not json
            [1, 2]
            {"event": "x"}
            {"channel": "bad name", "data": "x"}
            {"channel": 5, "data": "x"}
            {"event": "", "data": "x"}
            {"event": 3, "data": "x"}
            "just a string"
            {"data": "last"}
            """
        #expect(
            parseEverySplit(input, format: .json) == [
                msg("ok"), .error(2), .error(3), .error(4), .error(5), .error(6), .error(7), .error(8), .error(9), msg("last"),
            ])
    }

    @Test("json: invalid UTF-8 inside a string is replaced")
    func jsonInvalidUTF8() {
        let input: [UInt8] = Array("{\"data\":\"a".utf8) + [0xFF] + Array("\"}\n".utf8)
        #expect(parseEverySplit(input, format: .json) == [msg("a\u{FFFD}")])
    }

    @Test("json: a line over the limit is an error")
    func jsonTooLong() {
        let input = "{\"data\":\"" + String(repeating: "x", count: 100) + "\"}\n{\"data\":\"y\"}\n"
        #expect(parseEverySplit(input, format: .json, max: 50) == [.error(1), msg("y")])
    }

    @Test("error description names the line")
    func errorDescription() {
        #expect(RecordError(line: 3, message: "not valid JSON").description == "line 3: not valid JSON")
    }

    // MARK: speed

    @Test("line format parses well over a million lines per second")
    func lineThroughput() {
        var input: [UInt8] = []
        let count = 1_000_000
        input.reserveCapacity(count * 24)
        for i in 0..<count { input.append(contentsOf: "line number \(i) of the test\n".utf8) }
        var parser = RecordParser(format: .line)
        var records = 0
        var bytes = 0
        let start = DispatchTime.now().uptimeNanoseconds
        input.withUnsafeBytes { all in
            var offset = 0
            while offset < all.count {
                let end = min(offset + 65536, all.count)
                parser.feed(UnsafeRawBufferPointer(rebasing: all[offset..<end])) { result in
                    if case .success(let r) = result {
                        records += 1
                        bytes &+= r.event.data.utf8.count
                    }
                }
                offset = end
            }
        }
        parser.finish { _ in }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        print("line parser: \(count) lines in \(seconds) s = \(Int(Double(count) / seconds)) lines/s")
        #expect(records == count)
        #expect(bytes > 0)
        #if !DEBUG
        #expect(Double(count) / seconds > 1_000_000)
        #endif
    }
}
