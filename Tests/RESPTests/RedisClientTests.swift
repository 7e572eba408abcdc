import Dispatch
import Foundation
import Glibc
import Reactor
import TestKit
import XCTest

@testable import RESP

final class RedisClientTests: XCTestCase {
    private var loopThread: LoopThread!

    override func setUpWithError() throws {
        loopThread = try LoopThread()
    }

    override func tearDown() {
        loopThread.stop()
        loopThread = nil
    }

    /// A started client whose state changes land in `states`.
    private func makeClient(
        _ url: RedisURL, configure: (inout RedisClient.Configuration) -> Void = { _ in }
    ) throws -> (client: RedisClient, states: Inbox<RedisClient.State>) {
        var configuration = RedisClient.Configuration(url: url)
        configuration.connectTimeoutNanos = 500_000_000
        configuration.minBackoffNanos = 20_000_000
        configuration.maxBackoffNanos = 200_000_000
        configure(&configuration)
        let client = try RedisClient(configuration: configuration, loop: loopThread.loop)
        let states = Inbox<RedisClient.State>()
        try loopThread.sync {
            client.onStateChange = { states.put($0) }
            client.start()
        }
        return (client, states)
    }

    /// Sends one command from the loop and waits for its result.
    private func call(_ client: RedisClient, _ arguments: [String], timeoutNanos: UInt64? = nil) throws -> Result<RESPValue, RedisError> {
        let result = Inbox<Result<RESPValue, RedisError>>()
        try loopThread.sync { client.send(arguments, timeoutNanos: timeoutNanos) { result.put($0) } }
        return try result.next()
    }

    private func close(_ client: RedisClient) throws {
        try loopThread.sync { client.close() }
    }

    func testPingSetAndGet() throws {
        let server = try RedisServer()
        let (client, states) = try makeClient(server.url)
        defer { try? close(client) }
        XCTAssertEqual(try states.next(), .up)
        XCTAssertEqual(try call(client, ["PING"]).get(), .simpleString("PONG"))
        XCTAssertEqual(try call(client, ["SET", "greeting", "héllo"]).get(), .simpleString("OK"))
        XCTAssertEqual(try call(client, ["GET", "greeting"]).get().string, "héllo")
        XCTAssertEqual(try call(client, ["GET", "missing"]).get(), .bulkString(nil))
        XCTAssertEqual(try call(client, ["INCR", "greeting"]), .failure(.server("ERR value is not an integer or out of range")))
        // An error reply fails that command only: the link stays up.
        XCTAssertEqual(try call(client, ["PING"]).get(), .simpleString("PONG"))
    }

    func testCommandsSentBeforeTheLinkIsUpWaitForTheLogin() throws {
        let server = try RedisServer(tcp: true)
        let (client, states) = try makeClient(server.tcpURL!)
        defer { try? close(client) }
        // Sent in the same pass as `start`, before the connection exists.
        XCTAssertEqual(try call(client, ["ECHO", "early"]).get().string, "early")
        XCTAssertEqual(try states.next(), .up)
    }

    func testPipelinesTenThousandCommandsAndMatchesRepliesInOrder() throws {
        let server = try RedisServer()
        let (client, states) = try makeClient(server.url)
        defer { try? close(client) }
        XCTAssertEqual(try states.next(), .up)
        let count = 10_000
        let replies = Inbox<[Int64]>()
        try loopThread.sync {
            var got: [Int64] = []
            got.reserveCapacity(count)
            for _ in 0..<count {
                client.send(["INCR", "counter"]) { result in
                    got.append((try? result.get().integer) ?? -1)
                    if got.count == count { replies.put(got) }
                }
            }
            // All of them are in flight at once.
            XCTAssertEqual(client.pendingCount, count)
        }
        XCTAssertEqual(try replies.next(), (1...Int64(count)).map { $0 })
    }

    func testAWrongPasswordIsAClearAuthError() throws {
        let server = try RedisServer(password: "right")
        var wrong = server.url
        wrong.password = "wrong"
        let (client, states) = try makeClient(wrong)
        defer { try? close(client) }
        let state = try states.next()
        guard case .down(.authFailed(let text)) = state else { return XCTFail("\(state)") }
        XCTAssertTrue(text.hasPrefix("WRONGPASS"), text)
        XCTAssertTrue(RedisError.authFailed(text).description.hasPrefix("Redis AUTH failed: WRONGPASS"))
        // While down, commands fail at once, saying why.
        guard case .failure(.unavailable(let reason)) = try call(client, ["PING"]) else { return XCTFail() }
        XCTAssertTrue(reason.contains("WRONGPASS"), reason)

        var none = server.url
        none.password = nil
        let (anonymous, anonymousStates) = try makeClient(none)
        defer { try? close(anonymous) }
        let anonymousState = try anonymousStates.next()
        guard case .down(.authFailed(let noauth)) = anonymousState else { return XCTFail("\(anonymousState)") }
        XCTAssertTrue(noauth.hasPrefix("NOAUTH"), noauth)

        let (right, rightStates) = try makeClient(server.url)
        defer { try? close(right) }
        XCTAssertEqual(try rightStates.next(), .up)
    }

    func testSelectsTheURLsDatabase() throws {
        let server = try RedisServer()
        var url = server.url
        url.database = 3
        let (client, _) = try makeClient(url)
        defer { try? close(client) }
        XCTAssertEqual(try call(client, ["SET", "where", "three"]).get(), .simpleString("OK"))
        XCTAssertEqual(try server.command(["GET", "where"], database: 3).string, "three")
        XCTAssertEqual(try server.command(["GET", "where"]), .bulkString(nil))

        url.database = 99
        let (outOfRange, states) = try makeClient(url)
        defer { try? close(outOfRange) }
        let state = try states.next()
        guard case .down(.server(let text)) = state else { return XCTFail("\(state)") }
        XCTAssertTrue(text.hasPrefix("SELECT: ERR DB index is out of range"), text)
    }

    func testReconnectsAfterTheServerIsKilledAndRestarted() throws {
        let server = try RedisServer(persistent: true)
        let (client, states) = try makeClient(server.url)
        defer { try? close(client) }
        XCTAssertEqual(try states.next(), .up)
        XCTAssertEqual(try call(client, ["SET", "k", "v"]).get(), .simpleString("OK"))
        server.stop()
        let down = try states.next()
        guard case .down(.connectionLost) = down else { return XCTFail("\(down)") }
        // Down: refused at once (or, mid-attempt, the attempt's own failure).
        switch try call(client, ["GET", "k"]) {
        case .failure(.unavailable), .failure(.connectFailed): break
        case let other: XCTFail("\(other)")
        }
        try server.restart()
        try states.next(where: { $0 == .up })
        XCTAssertEqual(try call(client, ["GET", "k"]).get().string, "v")
    }

    func testAStoppedServerTimesOutAndTheLinkRecoversAfterItResumes() throws {
        let server = try RedisServer()
        let (client, states) = try makeClient(server.url)
        defer { try? close(client) }
        XCTAssertEqual(try states.next(), .up)
        server.pause()
        let result = try call(client, ["PING"], timeoutNanos: 200_000_000)
        guard case .failure(.timeout) = result else { return XCTFail("\(result)") }
        let down = try states.next()
        guard case .down(.timeout) = down else { return XCTFail("\(down)") }
        server.resume()
        try states.next(where: { $0 == .up })
        XCTAssertEqual(try call(client, ["PING"]).get(), .simpleString("PONG"))
    }

    func testABlockingCommandUsesItsOwnLongerTimeout() throws {
        let server = try RedisServer()
        let (client, states) = try makeClient(server.url) { $0.commandTimeoutNanos = 100_000_000 }
        defer { try? close(client) }
        XCTAssertEqual(try states.next(), .up)
        // Blocks 300 ms, three times the default timeout, and returns nil.
        let result = try call(client, ["XREAD", "BLOCK", "300", "STREAMS", "nothing", "$"], timeoutNanos: 2_000_000_000)
        XCTAssertEqual(try result.get(), .array(nil))
        XCTAssertEqual(try call(client, ["PING"]).get(), .simpleString("PONG"))
    }

    func testAReplyThatIsNotRESPClosesTheLinkAndItReconnects() throws {
        let fake = try FakeRedis(replies: [["+PONG\r\n", "%3\r\nnot resp\r\n"], ["+PONG\r\n", "+PONG\r\n"]])
        defer { fake.stop() }
        let (client, states) = try makeClient(RedisURL(endpoint: .tcp(host: "127.0.0.1", port: fake.port)))
        defer { try? close(client) }
        XCTAssertEqual(try states.next(), .up)
        let result = try call(client, ["PING"])
        guard case .failure(.protocolError(let detail)) = result else { return XCTFail("\(result)") }
        XCTAssertEqual(detail, "unexpected byte '%' where a reply starts")
        let down = try states.next()
        guard case .down(.protocolError) = down else { return XCTFail("\(down)") }
        XCTAssertEqual(try states.next(), .up)
        XCTAssertEqual(try call(client, ["PING"]).get(), .simpleString("PONG"))
        XCTAssertEqual(fake.connections, 2)
    }

    func testCloseFailsWhatIsWaitingAndRefusesMore() throws {
        let server = try RedisServer()
        let (client, states) = try makeClient(server.url)
        XCTAssertEqual(try states.next(), .up)
        server.pause()
        let result = Inbox<Result<RESPValue, RedisError>>()
        try loopThread.sync {
            client.send(["PING"]) { result.put($0) }
            client.close()
            client.send(["PING"]) { result.put($0) }
        }
        XCTAssertEqual(try result.next(), .failure(.closed))
        XCTAssertEqual(try result.next(), .failure(.closed))
        XCTAssertEqual(try states.next(), .closed)
        server.resume()
    }
}


final class RedisClientLinkTests: XCTestCase {
    func testALinkThatStallsTimesOutAndOneThatIsCutReconnects() throws {
        let loopThread = try LoopThread()
        defer { loopThread.stop() }
        let server = try RedisServer()
        let proxy = try StallingProxy(toUnixSocket: server.socketPath)
        defer { proxy.stop() }
        var configuration = RedisClient.Configuration(url: RedisURL(endpoint: .tcp(host: "127.0.0.1", port: proxy.port)))
        configuration.connectTimeoutNanos = 300_000_000
        configuration.commandTimeoutNanos = 300_000_000
        configuration.minBackoffNanos = 20_000_000
        configuration.maxBackoffNanos = 100_000_000
        let client = try RedisClient(configuration: configuration, loop: loopThread.loop)
        let states = Inbox<RedisClient.State>()
        let results = Inbox<Result<RESPValue, RedisError>>()
        try loopThread.sync {
            client.onStateChange = { states.put($0) }
            client.start()
        }
        defer { _ = try? loopThread.sync { client.close() } }
        XCTAssertEqual(try states.next(), .up)

        proxy.pause()
        try loopThread.sync { client.send(["PING"]) { results.put($0) } }
        guard case .failure(.timeout) = try results.next() else { return XCTFail() }
        proxy.resume()
        try states.next(where: { $0 == .up })
        try loopThread.sync { client.send(["PING"]) { results.put($0) } }
        XCTAssertEqual(try results.next(), .success(.simpleString("PONG")))

        let before = proxy.connections
        proxy.cut()
        let down = try states.next()
        guard case .down(.connectionLost) = down else { return XCTFail("\(down)") }
        XCTAssertEqual(try states.next(), .up)
        XCTAssertGreaterThan(proxy.connections, before)
        try loopThread.sync { client.send(["PING"]) { results.put($0) } }
        XCTAssertEqual(try results.next(), .success(.simpleString("PONG")))
    }
}
