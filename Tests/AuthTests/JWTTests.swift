import XCTest

@testable import Auth

final class JWTTests: XCTestCase {
    let key = bytes("s3cret-key-for-tests")
    let now: Int64 = 1_800_000_000
    var signer: JWTSigner { JWTSigner(key: key) }
    var verifier: JWTVerifier { JWTVerifier(key: key) }

    private func verify(_ token: String, at time: Int64? = nil) -> Result<JWTClaims, JWTError> {
        verifier.verify(token, nowSeconds: time ?? now)
    }

    private func error(_ token: String, at time: Int64? = nil) -> JWTError? {
        if case .failure(let error) = verify(token, at: time) { return error }
        return nil
    }

    /// A token with `header` and `payload` as written, signed with the test key.
    private func forge(header: String, payload: String) -> String {
        signer.sign(payload: payload, header: header)
    }

    func testAValidTokenGivesItsClaims() throws {
        let token = signer.sign(
            sub: "alice", exp: now + 60, nbf: now - 5, subscribe: ["room/*", "news"], publish: ["room/1"],
            info: .object([.init("name", .string("Alice")), .init("n", .number("1"))]))
        let claims = try verify(token).get()
        XCTAssertEqual(claims.sub, "alice")
        XCTAssertEqual(claims.exp, now + 60)
        XCTAssertEqual(claims.nbf, now - 5)
        XCTAssertEqual(claims.subscribe, ["room/*", "news"])
        XCTAssertEqual(claims.publish, ["room/1"])
        XCTAssertEqual(claims.info, #"{"name":"Alice","n":1}"#)
        XCTAssertTrue(claims.maySubscribe(to: "room/7"))
        XCTAssertTrue(claims.maySubscribe(to: "news"))
        XCTAssertFalse(claims.maySubscribe(to: "room/7/x"))
        XCTAssertTrue(claims.mayPublish(to: "room/1"))
        XCTAssertFalse(claims.mayPublish(to: "news"))
    }

    func testAMinimalTokenHasNoChannels() throws {
        let claims = try verify(signer.sign(payload: #"{"exp":\#(now + 1)}"#)).get()
        XCTAssertNil(claims.sub)
        XCTAssertNil(claims.nbf)
        XCTAssertNil(claims.info)
        XCTAssertEqual(claims.subscribe, [])
        XCTAssertFalse(claims.maySubscribe(to: "a"))
    }

    /// RFC 7515 appendix A.1: a token made elsewhere, with CRLFs in its JSON.
    func testTheRFC7515Example() throws {
        let key = Base64URL.decode("AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow")!
        let token =
            "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
        let claims = try JWTVerifier(key: key).verify(token, nowSeconds: 1_300_819_379).get()
        XCTAssertEqual(claims.exp, 1_300_819_380)
        XCTAssertEqual(JWTVerifier(key: key).verify(token, nowSeconds: 1_300_819_380), .failure(.expired))
        // jwt.io's example: the signature checks, then the missing exp refuses it.
        let jwtio =
            "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
        XCTAssertEqual(JWTVerifier(key: bytes("your-256-bit-secret")).verify(jwtio, nowSeconds: now), .failure(.noExpiry))
        XCTAssertEqual(JWTVerifier(key: bytes("other")).verify(jwtio, nowSeconds: now), .failure(.badSignature))
    }

    /// Valid while nbf <= now < exp, with no leeway.
    func testExpiryAndNotBeforeAreExact() {
        let token = signer.sign(sub: nil, exp: now + 10, nbf: now - 10)
        XCTAssertEqual(error(token, at: now + 9), nil)
        XCTAssertEqual(error(token, at: now + 10), .expired)
        XCTAssertEqual(error(token, at: now + 1000), .expired)
        XCTAssertEqual(error(token, at: now - 10), nil)
        XCTAssertEqual(error(token, at: now - 11), .notYetValid)
        // Fractional times round towards refusing.
        XCTAssertEqual(error(signer.sign(payload: #"{"exp":\#(now).9}"#)), .expired)
        XCTAssertEqual(error(signer.sign(payload: #"{"exp":\#(now + 5),"nbf":\#(now).1}"#)), .notYetValid)
        XCTAssertEqual(error(signer.sign(payload: #"{"exp":1e300}"#)), nil)
        XCTAssertEqual(try? verify(signer.sign(payload: #"{"exp":1e300,"nbf":-1e300}"#)).get().exp, JWTVerifier.latestSeconds)
        XCTAssertEqual(try? verify(signer.sign(payload: #"{"exp":1e300,"nbf":-1e300}"#)).get().nbf, -JWTVerifier.latestSeconds)
    }

    func testRefusedAlgorithms() {
        let payload = #"{"exp":\#(now + 60),"sse":{"subscribe":["**"]}}"#
        XCTAssertEqual(error(forge(header: #"{"alg":"none","typ":"JWT"}"#, payload: payload)), .algorithm("none"))
        XCTAssertEqual(error(forge(header: #"{"alg":"HS512"}"#, payload: payload)), .algorithm("HS512"))
        XCTAssertEqual(error(forge(header: #"{"alg":"HS384"}"#, payload: payload)), .algorithm("HS384"))
        XCTAssertEqual(error(forge(header: #"{"alg":"RS256"}"#, payload: payload)), .algorithm("RS256"))
        XCTAssertEqual(error(forge(header: #"{"alg":"hs256"}"#, payload: payload)), .algorithm("hs256"))
        XCTAssertEqual(error(forge(header: #"{"typ":"JWT"}"#, payload: payload)), .algorithm(nil))
        XCTAssertEqual(error(forge(header: #"{"alg":null}"#, payload: payload)), .algorithm(nil))
        XCTAssertEqual(error(forge(header: #"{"alg":["HS256"]}"#, payload: payload)), .algorithm(nil))
        // An unsigned token, as alg none sends it.
        let unsigned = Base64URL.encode(bytes(#"{"alg":"none"}"#)) + "." + Base64URL.encode(bytes(payload)) + "."
        XCTAssertEqual(error(unsigned), .algorithm("none"))
        XCTAssertEqual(error(forge(header: #"{"alg":"HS256","crit":["exp"]}"#, payload: payload)), .malformed("header names crit extensions"))
        XCTAssertEqual(JWTError.algorithm("none").message, "token alg must be HS256, not none")
    }

    func testBadSignatures() {
        let token = signer.sign(sub: "a", exp: now + 60, subscribe: ["**"])
        XCTAssertEqual(error(JWTSigner(key: bytes("other key")).sign(sub: "a", exp: now + 60)), .badSignature)
        let parts = token.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        // Another payload under the first one's signature.
        let other = Base64URL.encode(bytes(#"{"sub":"root","exp":\#(now + 60),"sse":{"subscribe":["**"]}}"#))
        XCTAssertEqual(error(parts[0] + "." + other + "." + parts[2]), .badSignature)
        XCTAssertEqual(error(parts[0] + "." + parts[1] + "."), .badSignature)
        XCTAssertEqual(error(parts[0] + "." + parts[1] + "." + parts[2].dropLast()), .badSignature)
        XCTAssertEqual(error(parts[0] + "." + parts[1] + "." + parts[2] + "AA"), .badSignature)
        XCTAssertEqual(error(parts[0] + "." + parts[1] + "." + parts[2] + "="), .badSignature)
        // Every single changed character of the signature is caught.
        for i in parts[2].indices {
            var signature = parts[2]
            signature.replaceSubrange(i...i, with: signature[i] == "A" ? "B" : "A")
            XCTAssertEqual(error(parts[0] + "." + parts[1] + "." + signature), .badSignature)
        }
        XCTAssertEqual(JWTVerifier(key: []).verify(JWTSigner(key: []).sign(sub: nil, exp: now + 9), nowSeconds: now), .failure(.badSignature))
    }

    func testWhatIsNotAJWTAtAll() {
        let token = signer.sign(sub: "a", exp: now + 60)
        for text in ["", "opaque-session-id", "a.b", "a.b.c.d", token + ".x", ".", "..", "a..b"] {
            guard case .notJWT = error(text) else { return XCTFail("\(text): \(String(describing: error(text)))") }
        }
        let parts = token.split(separator: ".").map(String.init)
        XCTAssertEqual(error("!!" + parts[0] + "." + parts[1] + "." + parts[2]), .notJWT("header is not base64url"))
        XCTAssertEqual(error(" " + token), .notJWT("header is not base64url"))
        XCTAssertEqual(error(Base64URL.encode(bytes("[1]")) + "." + parts[1] + "." + parts[2]), .notJWT("header is not a JSON object"))
        XCTAssertEqual(error(Base64URL.encode(bytes("{alg:1}")) + "." + parts[1] + "." + parts[2]), .notJWT("header is not a JSON object"))
        XCTAssertEqual(error(String(repeating: "a", count: 8193)), .tooLarge)
        XCTAssertEqual(error(signer.sign(payload: #"{"exp":\#(now + 9),"pad":"\#(String(repeating: "x", count: 7000))"}"#)), .tooLarge)
    }

    func testMalformedClaimsAreRefusedAfterTheSignature() {
        func refused(_ payload: String) -> JWTError? { error(signer.sign(payload: payload)) }
        let exp = #""exp":\#(now + 60)"#
        XCTAssertEqual(refused("[1]"), .malformed("payload is not a JSON object"))
        XCTAssertEqual(refused("{\(exp),}").map { if case .malformed = $0 { true } else { false } }, true)
        XCTAssertEqual(refused(#"{"exp":1,"exp":\#(now + 60)}"#).map { if case .malformed = $0 { true } else { false } }, true)
        XCTAssertEqual(refused(#"{"sub":"a"}"#), .noExpiry)
        XCTAssertEqual(refused(#"{"exp":"\#(now + 60)"}"#), .malformed("exp is not a number"))
        XCTAssertEqual(refused(#"{\#(exp),"nbf":true}"#), .malformed("nbf is not a number"))
        XCTAssertEqual(refused(#"{\#(exp),"sub":42}"#), .malformed("sub is not a string"))
        XCTAssertEqual(refused(#"{\#(exp),"sse":[]}"#), .malformed("sse is not an object"))
        XCTAssertEqual(refused(#"{\#(exp),"sse":{"subscribe":"a"}}"#), .malformed("sse.subscribe is not an array"))
        XCTAssertEqual(refused(#"{\#(exp),"sse":{"publish":[1]}}"#), .malformed("sse.publish holds a non-string"))
        XCTAssertEqual(
            refused(#"{\#(exp),"sse":{"subscribe":["a b"]}}"#),
            .malformed(#"sse.subscribe: channel pattern "a b" has a character channel names cannot have"#))
        let bigInfo = #"{"x":"\#(String(repeating: "y", count: 1020))"}"#
        XCTAssertEqual(refused(#"{\#(exp),"sse":{"info":\#(bigInfo)}}"#), .malformed("sse.info over 1024 bytes"))
        XCTAssertEqual(refused(#"{\#(exp),"sse":{"info":null}}"#), nil)
        // A payload that is not base64url, under a valid signature.
        let header = Base64URL.encode(bytes(JWTSigner.header))
        let input = header + ".*"
        let signature = Base64URL.encode(HMACSHA256.authenticate(key: key, message: bytes(input)))
        XCTAssertEqual(error(input + "." + signature), .malformed("payload is not base64url"))
    }

    /// Many variants of a valid token, each cut or changed: none is accepted
    /// unless it is the token itself, and none traps.
    func testCutAndChangedTokensAreNeverAccepted() {
        let token = Array(signer.sign(sub: "bob", exp: now + 60, subscribe: ["a/**"], info: .string("hi")).utf8)
        XCTAssertNotNil(try? verify(String(decoding: token, as: UTF8.self)).get())
        for cut in 0..<token.count {
            XCTAssertNil(try? verify(String(decoding: token[..<cut], as: UTF8.self)).get(), "cut at \(cut)")
            XCTAssertNil(try? verify(String(decoding: token[cut...].dropFirst(), as: UTF8.self)).get(), "from \(cut)")
        }
        for i in token.indices {
            for replacement: UInt8 in [0x2E, 0x41, 0x00, 0x2B, 0xFF] where token[i] != replacement {
                var changed = token
                changed[i] = replacement
                XCTAssertNil(try? verify(String(decoding: changed, as: UTF8.self)).get(), "byte \(i) = \(replacement)")
            }
        }
    }

    func testErrorMessagesSayWhich() {
        XCTAssertEqual(JWTError.expired.message, "token expired")
        XCTAssertEqual(JWTError.badSignature.message, "token signature invalid")
        XCTAssertEqual(JWTError.algorithm(nil).message, "token alg must be HS256")
        XCTAssertEqual(JWTError.noExpiry.message, "token has no exp")
        XCTAssertEqual(JWTError.tooLarge.message, "token longer than 8192 bytes")
    }
}
