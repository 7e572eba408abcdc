import XCTest

@testable import Auth

final class SHA256Tests: XCTestCase {
    /// FIPS 180-4 examples (and the empty message).
    func testTheFIPSExamples() {
        XCTAssertEqual(hex(SHA256.hash(bytes(""))), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        XCTAssertEqual(hex(SHA256.hash(bytes("abc"))), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(
            hex(SHA256.hash(bytes("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"))),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
    }

    func testOneMillionAs() {
        let million = [UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000)
        XCTAssertEqual(hex(SHA256.hash(million)), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    /// Fed in pieces of every size from 1 to 130 bytes, the digest is the one-shot one.
    func testIncrementalUpdatesGiveTheSameDigest() {
        let message = (0..<300).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 3) }
        let expected = SHA256.hash(message)
        for size in 1...130 {
            var hasher = SHA256()
            var start = 0
            while start < message.count {
                let end = min(start + size, message.count)
                hasher.update(message[start..<end])
                start = end
            }
            XCTAssertEqual(hasher.finalize(), expected, "pieces of \(size)")
        }
        // Lengths around the padding boundaries (55, 56, 63, 64 bytes...).
        for length in 50...130 {
            var hasher = SHA256()
            hasher.update(message[..<length])
            let digest = hasher.finalize()
            XCTAssertEqual(digest, SHA256.hash(Array(message[..<length])))
            // Reading the digest leaves the hasher usable.
            hasher.update(message[length...])
            XCTAssertEqual(hasher.finalize(), expected)
        }
    }

    func testANonContiguousCollectionHashesTheSame() {
        let text = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"
        XCTAssertEqual(SHA256.hash(text.utf8), SHA256.hash(Array(text.utf8)))
        XCTAssertEqual(SHA256.hash(Array(text.utf8).lazy.map { $0 }), SHA256.hash(Array(text.utf8)))
    }

    /// RFC 4231 §4.2–4.8, all seven HMAC-SHA-256 test cases.
    func testTheRFC4231Cases() {
        let aa131 = [UInt8](repeating: 0xAA, count: 131)
        let cases: [(key: [UInt8], data: [UInt8], tag: String)] = [
            ([UInt8](repeating: 0x0B, count: 20), bytes("Hi There"),
             "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"),
            (bytes("Jefe"), bytes("what do ya want for nothing?"),
             "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"),
            ([UInt8](repeating: 0xAA, count: 20), [UInt8](repeating: 0xDD, count: 50),
             "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"),
            (Array(1...25), [UInt8](repeating: 0xCD, count: 50),
             "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"),
            // Case 5 gives only the first 128 bits.
            ([UInt8](repeating: 0x0C, count: 20), bytes("Test With Truncation"), "a3b6167473100ee06e0c796c2955552b"),
            (aa131, bytes("Test Using Larger Than Block-Size Key - Hash Key First"),
             "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"),
            (aa131, bytes("This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm."),
             "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"),
        ]
        for (number, c) in cases.enumerated() {
            let tag = hex(HMACSHA256.authenticate(key: c.key, message: c.data))
            XCTAssertEqual(String(tag.prefix(c.tag.count)), c.tag, "RFC 4231 case \(number + 1)")
            // The keyed value gives the same tag, and again for a second message.
            let keyed = HMACSHA256(key: c.key)
            XCTAssertEqual(hex(keyed.authenticate(c.data)), tag)
            XCTAssertEqual(hex(keyed.authenticate(c.data)), tag)
        }
    }

    func testConstantTimeEquality() {
        XCTAssertTrue(ConstantTime.equals([1, 2, 3], [1, 2, 3]))
        XCTAssertFalse(ConstantTime.equals([1, 2, 3], [1, 2, 4]))
        XCTAssertFalse(ConstantTime.equals([1, 2, 3], [1, 2]))
        XCTAssertTrue(ConstantTime.equals([UInt8](), []))
        XCTAssertTrue(ConstantTime.equals("abc".utf8, [0x61, 0x62, 0x63]))
    }
}
