import XCTest

@testable import Auth

final class Base64Tests: XCTestCase {
    /// RFC 4648 §10.
    func testTheRFC4648Vectors() {
        let vectors = [("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foob", "Zm9vYg=="), ("fooba", "Zm9vYmE="), ("foobar", "Zm9vYmFy")]
        for (plain, encoded) in vectors {
            XCTAssertEqual(Base64.encode(bytes(plain)), encoded)
            XCTAssertEqual(Base64.decode(encoded), bytes(plain))
            let unpadded = encoded.replacingOccurrences(of: "=", with: "")
            XCTAssertEqual(Base64URL.encode(bytes(plain)), unpadded)
            XCTAssertEqual(Base64URL.decode(unpadded), bytes(plain))
            XCTAssertEqual(Base64URL.decode(encoded), bytes(plain), "padding is accepted too")
            XCTAssertEqual(Base64.decode(unpadded), bytes(plain), "and may be missing")
        }
    }

    func testTheAlphabetsDifferInTheirLastTwoDigits() {
        let data: [UInt8] = [0xFB, 0xFF, 0xBF]
        XCTAssertEqual(Base64.encode(data), "+/+/")
        XCTAssertEqual(Base64URL.encode(data), "-_-_")
        XCTAssertNil(Base64URL.decode("+/+/"))
        XCTAssertNil(Base64.decode("-_-_"))
        XCTAssertEqual(Base64URL.decode("-_-_"), data)
    }

    func testEveryByteValueRoundTrips() {
        for length in 0..<70 {
            let data = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ length) }
            XCTAssertEqual(Base64.decode(Base64.encode(data)), data)
            XCTAssertEqual(Base64URL.decode(Base64URL.encode(data)), data)
        }
        let all = (0...255).map { UInt8($0) }
        XCTAssertEqual(Base64URL.decode(Base64URL.encode(all)), all)
    }

    func testMalformedTextIsRefused() {
        for bad in ["Zm9v YmFy", "Zm9v\n", "Z", "Zm9vY", "Zg=", "Zg===", "Z===", "=Zg=", "Zm=v", "Zm9v=", "Zm9v====", "Zh==", "Zm9=", "é", "Zm9v%"] {
            XCTAssertNil(Base64.decode(bad), bad)
            XCTAssertNil(Base64URL.decode(bad), bad)
        }
    }
}

extension Base64Tests {
    func testJWTPartsMayBeRefusedWithPadding() {
        XCTAssertEqual(Base64URL.decode("Zg", allowPadding: false), bytes("f"))
        XCTAssertNil(Base64URL.decode("Zg==", allowPadding: false))
    }
}
