import EventStream
import Foundation
import Glibc
import XCTest

@testable import Server

/// Streaming uploads (`?format=`): records routed and converted as they come,
/// at a cost linear in the bytes however finely they are chunked.
final class PublishUploadTests: XCTestCase {
    private func replay(_ server: TestServer, _ channel: String, until marker: String) throws -> [ParsedEvent] {
        let client = try server.connect()
        client.send("GET /events/\(channel)?lastEventId=0 HTTP/1.1\r\nHost: x\r\n\r\n")
        XCTAssertTrue(client.read(untilContains: marker), "\(channel): \(client.text)")
        return EventStreamText.events(EventStreamText.dechunk(HTTPClient.parse(client.text).body))
    }

    func testJSONUploadRoutesByChannelSendsNonStringDataAsJSONAndSkipsAMalformedLine() throws {
        let server = try TestServer()
        let body = [
            #"{"data":"plain"}"#,
            #"{"channel":"other","event":"e","data":{"x": 1, "y": [true, null, "s p"]}}"#,
            #"{oops"#,
            #"{"data":42}"#,
            "",
            #"{"event":"obj","data": {"a" : [1, 2]}}"#,
            #"{"channel":"main","data":"last"}"#,
        ].joined(separator: "\n") + "\n"
        let reply = try HTTPClient.post(server.port, "/events/main?format=json", body: body, contentType: "application/x-ndjson")
        XCTAssertEqual(reply.status, 200, reply.body)
        let ids = (try JSONSerialization.jsonObject(with: Data(reply.body.utf8)) as? [String: Any])?["ids"] as? [String]
        XCTAssertEqual(ids?.count, 5, "five records published, the malformed one skipped")

        let main = try replay(server, "main", until: "data: last\n")
        XCTAssertEqual(main.map(\.type), ["message", "message", "obj", "message"])
        XCTAssertEqual(main.map(\.data), ["plain", "42", #"{"a":[1,2]}"#, "last"])
        let other = try replay(server, "other", until: "event: e\n")
        XCTAssertEqual(other.map(\.type), ["e"])
        XCTAssertEqual(other.map(\.data), [#"{"x":1,"y":[true,null,"s p"]}"#], "its JSON text, without white space outside strings")
        XCTAssertEqual((main + other).compactMap(\.id).sorted { EventID(parsing: $0)! < EventID(parsing: $1)! }, ids)
    }

    /// `bytes` as a chunked body of one-byte chunks, then the last chunk.
    private func oneByteChunks(_ bytes: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: bytes.count * 6)
        out.withUnsafeMutableBufferPointer { out in
            bytes.withUnsafeBufferPointer { bytes in
                for i in 0..<bytes.count {
                    out[i * 6] = 0x31
                    out[i * 6 + 1] = 0x0D
                    out[i * 6 + 2] = 0x0A
                    out[i * 6 + 3] = bytes[i]
                    out[i * 6 + 4] = 0x0D
                    out[i * 6 + 5] = 0x0A
                }
            }
        }
        return out + Array("0\r\n\r\n".utf8)
    }

    func testRecordsSentOneByteAChunkCostTimeLinearInTheirSize() throws {
        let server = try TestServer(["--max-body", "2000000"])
        // Sizes at which quadratic parsing costs minutes (it took 12 s optimised
        // for 200 KB) while linear parsing takes a few seconds unoptimised on a
        // loaded machine.
        let record = [UInt8](repeating: 0x78, count: 256 << 10) + [0x0A]
        let smallLines = (0..<10_000).map { "r\($0)\n" }.joined()  // ~70 KB
        for (name, payload, expected) in [("one 256 KiB record", record, 1), ("70 KB of small records", Array(smallLines.utf8), 10_000)] {
            let wire = Array("PUT /events/big?format=line HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n".utf8)
                + oneByteChunks(payload)
            let client = try server.connect()
            var timeout = timeval(tv_sec: 0, tv_usec: 200_000)
            setsockopt(client.fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            // Seconds of CPU for the whole process, server included. Linear, this
            // takes a few seconds in a debug build (each chunk passes through
            // unoptimised code) and a fraction of a second optimised; quadratic,
            // as when the parser's pending bytes were copied at every chunk, minutes.
            #if DEBUG
            let budget = 20.0
            #else
            let budget = 3.0
            #endif
            let before = processCPUSeconds()
            var offset = 0
            while offset < wire.count && processCPUSeconds() - before < budget {
                let n = wire[offset...].withUnsafeBytes { send(client.fd, $0.baseAddress, min($0.count, 1 << 16), Int32(MSG_NOSIGNAL)) }
                if n > 0 {
                    offset += n
                } else if errno != EAGAIN && errno != EINTR {
                    break
                }
            }
            XCTAssertEqual(offset, wire.count, "\(name): all sent within the budget")
            var answered = false
            while !answered && processCPUSeconds() - before < budget && !client.closedByPeer {
                answered = client.read(untilContains: "}", timeout: 0.2)
            }
            let spent = processCPUSeconds() - before
            XCTAssertLessThan(spent, budget, "\(name): \(spent) s of CPU")
            let reply = HTTPClient.parse(client.text)
            XCTAssertEqual(reply.status, 200, name)
            let json = try? JSONSerialization.jsonObject(with: Data(reply.body.utf8)) as? [String: Any]
            let published = (json?["count"] as? Int) ?? (json?["ids"] as? [Any])?.count
            XCTAssertEqual(published, expected, name)
        }
    }
}
