import Auth
import Foundation
import TestKit
import XCTest

@testable import Presence

final class WebhookSenderTests: XCTestCase {
    private var receiver: WebhookReceiver!
    private var senders: [WebhookSender] = []

    override func setUpWithError() throws { receiver = try WebhookReceiver() }

    override func tearDown() {
        for sender in senders { sender.stop() }
        receiver.stop()
    }

    /// A sender with waits short enough for a test.
    private func makeSender(secret: String? = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", _ adjust: (inout WebhookPolicy) -> Void = { _ in }) -> WebhookSender {
        var policy = WebhookPolicy()
        policy.batchWait = 0.01
        policy.initialBackoff = 0.01
        policy.maxBackoff = 0.04
        policy.requestTimeout = 2
        adjust(&policy)
        let sender = WebhookSender(url: receiver.url, secret: secret, policy: policy)
        senders.append(sender)
        return sender
    }

    private func event(_ i: Int) -> WebhookEvent { WebhookEvent(.memberAdded, channel: "room\(i)", user: "user\(i)") }

    /// The channels of a delivery's events, in order.
    private func channels(_ delivery: WebhookReceiver.Delivery) throws -> [String] {
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(delivery.body)) as? [String: Any])
        return try XCTUnwrap(object["events"] as? [[String: Any]]).map { $0["channel"] as? String ?? "?" }
    }

    /// Events in the requests answered 2xx.
    private func eventCount(_ deliveries: [WebhookReceiver.Delivery]) -> Int {
        deliveries.filter { $0.answered == 200 }.reduce(0) { $0 + ((try? channels($1))?.count ?? 0) }
    }

    private func takenChannels() throws -> [String] { try receiver.taken.flatMap(channels) }

    func testDeliveriesAreSignedTheWayAStandardWebhooksReceiverChecks() throws {
        let secret = "whsec_" + Base64.encode((0..<24).map { _ in UInt8.random(in: 0...255) })
        let sender = makeSender(secret: secret)
        sender.start()
        sender.queue.enqueue(WebhookEvent(.channelOccupied, channel: "room"))
        sender.queue.enqueue(WebhookEvent(.memberAdded, channel: "room", user: "alice"))
        XCTAssertTrue(receiver.wait { $0.count >= 1 })
        let delivery = receiver.all[0]
        XCTAssertEqual(delivery.headers["content-type"], "application/json")
        let id = try XCTUnwrap(delivery.headers["webhook-id"])
        let timestampText = try XCTUnwrap(delivery.headers["webhook-timestamp"])
        let timestamp = try XCTUnwrap(Int64(timestampText))
        XCTAssertLessThan(abs(timestamp - Int64(Date().timeIntervalSince1970)), 300, "Unix seconds, near now")
        // As a receiver does it: the key is the base64 after `whsec_`; the
        // signed content is `ID.TIMESTAMP.BODY`; any `v1,` entry may match.
        let key = try XCTUnwrap(Base64.decode(secret.dropFirst(6)))
        let expected = "v1," + Base64.encode(HMACSHA256.authenticate(key: key, message: Array("\(id).\(timestampText).".utf8) + delivery.body))
        let header = try XCTUnwrap(delivery.headers["webhook-signature"])
        XCTAssertTrue(header.split(separator: " ").contains { $0 == expected }, header)
        XCTAssertTrue(WebhookSignature.verify(
            header: header, secret: secret, id: id, timestamp: timestamp, body: delivery.body, nowSeconds: Int64(Date().timeIntervalSince1970)))
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(delivery.body)) as? [String: Any])
        XCTAssertNotNil(object["time_ms"] as? Int)
        let events = try XCTUnwrap(object["events"] as? [[String: String]])
        XCTAssertEqual(events, [["name": "channel_occupied", "channel": "room"], ["name": "member_added", "channel": "room", "user": "alice"]])

        // A plain secret is the key's bytes as they are.
        let plain = makeSender(secret: "s3cret")
        plain.start()
        plain.queue.enqueue(WebhookEvent(.channelVacated, channel: "room"))
        XCTAssertTrue(receiver.wait { $0.count >= 2 })
        let second = receiver.all[1]
        let mac = HMACSHA256.authenticate(key: Array("s3cret".utf8), message: Array("\(second.headers["webhook-id"]!).\(second.headers["webhook-timestamp"]!).".utf8) + second.body)
        XCTAssertEqual(second.headers["webhook-signature"], "v1," + Base64.encode(mac))
        XCTAssertNotEqual(second.headers["webhook-id"], id, "a new id per message")
    }

    func testEventsGoInBatchesOfAtMost100InOrder() throws {
        let sender = makeSender { $0.batchWait = 0.25 }
        for i in 0..<250 { sender.queue.enqueue(event(i)) }
        sender.start()
        XCTAssertTrue(receiver.wait { $0.count >= 3 })
        XCTAssertEqual(try receiver.taken.map { try channels($0).count }, [100, 100, 50])
        XCTAssertEqual(try takenChannels(), (0..<250).map { "room\($0)" })
        // One event alone does not wait for 99 more (the contract's 250 ms wait).
        sender.queue.enqueue(event(250))
        XCTAssertTrue(receiver.wait { $0.count >= 4 })
        XCTAssertEqual(try channels(receiver.all[3]), ["room250"])
    }

    func testAReceiverDownForAWhileGetsEveryWebhookOnceInOrder() throws {
        receiver.set(.unavailable)
        let sender = makeSender { $0.batchSize = 5 }
        sender.start()
        for i in 0..<20 { sender.queue.enqueue(event(i)) }
        XCTAssertTrue(receiver.wait { $0.count >= 3 })
        receiver.set(.hangUp)
        XCTAssertTrue(receiver.wait { $0.count >= 6 })
        for i in 20..<30 { sender.queue.enqueue(event(i)) }
        receiver.set(.up)
        XCTAssertTrue(receiver.wait { self.eventCount($0) >= 30 })
        XCTAssertEqual(try takenChannels(), (0..<30).map { "room\($0)" }, "each once, in order")
        let ids = receiver.taken.map { $0.headers["webhook-id"] ?? "" }
        XCTAssertEqual(Set(ids).count, ids.count)
        // Retries of one message keep its id, so a receiver can tell them apart from new ones.
        let firstID = receiver.all[0].headers["webhook-id"]
        XCTAssertEqual(receiver.all.filter { $0.headers["webhook-id"] == firstID }.last?.answered, 200)
        XCTAssertEqual(sender.dropped, 0)
    }

    func testAReceiverDownLongerThanTheQueueHoldsGetsTheNewestAndTheDropsAreCounted() throws {
        receiver.set(.hangUp)
        let sender = makeSender { $0.capacity = 10 }
        sender.start()
        sender.queue.enqueue(event(0))
        // The first batch is out and being retried; the rest wait in the queue.
        XCTAssertTrue(receiver.wait { $0.count >= 1 })
        for i in 1..<50 { sender.queue.enqueue(event(i)) }
        XCTAssertEqual(sender.dropped, 39)
        receiver.set(.up)
        XCTAssertTrue(receiver.wait { self.eventCount($0) >= 11 })
        XCTAssertEqual(try takenChannels(), ["room0"] + (40..<50).map { "room\($0)" })
        XCTAssertEqual(sender.dropped, 39)
        XCTAssertEqual(sender.queue.count, 0)
    }

    func testABatchNotTakenInTimeIsGivenUpAndCounted() throws {
        receiver.set(.unavailable)
        let sender = makeSender { $0.giveUpAfter = 0.05 }
        sender.start()
        for i in 0..<3 { sender.queue.enqueue(event(i)) }
        let deadline = Date(timeIntervalSinceNow: 10)
        while sender.dropped < 3 && Date() < deadline { usleep(2000) }
        XCTAssertEqual(sender.dropped, 3)
        receiver.set(.up)
        sender.queue.enqueue(event(3))
        XCTAssertTrue(receiver.wait { $0.contains { $0.answered == 200 } })
        XCTAssertEqual(try takenChannels(), ["room3"])
    }

    func testWebhookURLs() {
        XCTAssertEqual(WebhookURL("http://example.com")?.target, "/")
        XCTAssertEqual(WebhookURL("http://example.com:8081/a/b?c=d").map { "\($0.host) \($0.port) \($0.target)" }, "example.com 8081 /a/b?c=d")
        XCTAssertEqual(WebhookURL("http://[::1]:9/x").map { "\($0.host) \($0.port) \($0.authority)" }, "::1 9 [::1]:9")
        XCTAssertEqual(WebhookURL("http://h?q=1")?.target, "/?q=1")
        XCTAssertNil(WebhookURL("https://example.com/"))
        XCTAssertNil(WebhookURL("http://:80/"))
        XCTAssertNil(WebhookURL("http://h:99999/"))
    }
}
