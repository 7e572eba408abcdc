import XCTest

@testable import Auth

final class WebhookSignatureTests: XCTestCase {
    let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    let id = "msg_p5jXN8AQM9LWM0D4loKWxJek"
    let timestamp: Int64 = 1_614_265_330
    let body = bytes(#"{"test": 2432232314}"#)
    let expected = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="

    /// The Standard Webhooks reference libraries' test vector.
    func testTheStandardWebhooksVector() {
        XCTAssertEqual(WebhookSignature.sign(secret: secret, id: id, timestamp: timestamp, body: body), expected)
        let signer = WebhookSignature(secret: secret)
        XCTAssertEqual(signer?.headers(id: id, timestamp: timestamp, body: body).map { "\($0.0): \($0.1)" }, [
            "webhook-id: \(id)", "webhook-timestamp: 1614265330", "webhook-signature: \(expected)",
        ])
    }

    func testAReceiverAcceptsAnyV1Match() {
        func verify(_ header: String, body: [UInt8]? = nil, timestamp: Int64? = nil, now: Int64? = nil) -> Bool {
            WebhookSignature.verify(
                header: header, secret: secret, id: id, timestamp: timestamp ?? self.timestamp, body: body ?? self.body, nowSeconds: now)
        }
        XCTAssertTrue(verify(expected))
        XCTAssertTrue(verify("v1,Zm9v " + expected + " v2,abc"))
        XCTAssertFalse(verify("v2," + expected.dropFirst(3)))
        XCTAssertFalse(verify(expected, body: bytes(#"{"test": 2432232315}"#)))
        XCTAssertFalse(verify(expected, timestamp: timestamp + 1))
        XCTAssertFalse(verify("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE"), "one spelling: the padding belongs")
        XCTAssertFalse(verify(""))
        XCTAssertFalse(verify("v1,"))
        XCTAssertTrue(verify(expected, now: timestamp + 300))
        XCTAssertFalse(verify(expected, now: timestamp + 301), "too old")
        XCTAssertFalse(verify(expected, now: timestamp - 301), "from the future")
    }

    func testSecrets() {
        XCTAssertEqual(WebhookSignature.key(secret: "plain"), bytes("plain"))
        XCTAssertEqual(WebhookSignature.key(secret: "whsec_Zm9v"), bytes("foo"))
        XCTAssertNil(WebhookSignature.key(secret: "whsec_not base64!"))
        XCTAssertNil(WebhookSignature.key(secret: "whsec_"))
        XCTAssertNil(WebhookSignature.key(secret: ""))
        XCTAssertNil(WebhookSignature.sign(secret: "whsec_%%", id: id, timestamp: timestamp, body: body))
        // A plain secret is used as its bytes.
        let plain = WebhookSignature.sign(secret: "s3cret", id: "m", timestamp: 5, body: bytes("{}"))
        XCTAssertEqual(plain, "v1," + Base64.encode(HMACSHA256.authenticate(key: bytes("s3cret"), message: bytes("m.5.{}"))))
    }
}
