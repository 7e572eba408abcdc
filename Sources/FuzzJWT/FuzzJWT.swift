import Auth
import FuzzSupport

/// libFuzzer target for the pure readers of `Auth`: the JSON reader, the JWT
/// verifier (with the input as a token, and as a payload signed with the
/// right key so the claims checks are reached), base64url, channel globs,
/// token lookup and the auth callback's answer.
///
/// Built with `-sanitize=fuzzer -DFUZZING` (Tests/Fuzz/run.sh) `main` hands
/// over to libFuzzer; a plain build runs the files named as arguments once.
enum FuzzJWT {
    static let key = Array("fuzz-key".utf8)
    static let now: Int64 = 1_800_000_000
    static let verifier = JWTVerifier(key: key)
    static let signer = JWTSigner(key: key)

    static func test(_ data: UnsafeRawBufferPointer) {
        let bytes = Array(data)
        let text = String(decoding: bytes, as: UTF8.self)

        // JSON: what is read writes back compact and reads back the same.
        if case .success(let value) = JSONValue.parse(bytes) {
            let compact = value.compactText
            guard case .success(let again) = JSONValue.parse(compact) else { preconditionFailure("compact text does not read back: \(compact)") }
            precondition(again == value, "compact text reads back different")
            precondition(again.compactText == compact, "compact text not stable")
        }

        // The input as a token.
        check(verifier.verify(text, nowSeconds: now), signedByUs: false)
        // The input as the payload of a token signed with the key: only its claims can refuse it.
        check(verifier.verify(signer.sign(payload: text), nowSeconds: now), signedByUs: true)

        // Base64url: what decodes encodes back to the same text, padding aside.
        if let decoded = Base64URL.decode(text) {
            precondition(Base64URL.encode(decoded) == String(text.filter { $0 != "=" }), "base64url round trip")
            precondition(Base64.decode(Base64.encode(decoded)) == decoded, "base64 round trip")
        }

        // Globs: a pattern that parses answers for any channel, and matches itself when literal.
        if case .success(let glob) = ChannelGlob.parse(text) {
            for channel in ["a", "a/b", "a/b/c", text] { _ = glob.matches(channel) }
            if !text.contains("*") { precondition(glob.matches(text), "a literal pattern matches itself") }
        }

        // Token lookup and the callback's answer from the same bytes as header values.
        if let found = CredentialSource.find(authorization: text, cookie: text, queryToken: nil) {
            precondition(!found.token.isEmpty)
        }
        let asked = ["a", "b/c"]
        for name in ["SSE-Channels", "SSE-User-Info", "SSE-Expires-In", "Cache-Control", "SSE-User"] {
            switch AuthCallbackAnswer.interpret(status: 200, headers: [(name, text)], body: bytes, asked: asked) {
            case .allowed(let grant):
                precondition(grant.channels.allSatisfy(asked.contains), "granted a channel not asked")
                precondition(grant.cacheSeconds >= 0 && grant.cacheSeconds <= 60)
                precondition((grant.info?.utf8.count ?? 0) <= 1024)
            case .unavailable: break
            case .denied: preconditionFailure("200 read as a refusal")
            }
        }
    }

    static func check(_ result: Result<JWTClaims, JWTError>, signedByUs: Bool) {
        switch result {
        case .success(let claims):
            precondition(now < claims.exp, "accepted an expired token")
            if let nbf = claims.nbf { precondition(nbf <= now, "accepted a token before nbf") }
            precondition((claims.info?.utf8.count ?? 0) <= JWTVerifier.maxInfoBytes)
            for channel in ["a", "a/b", "presence/x"] { _ = claims.maySubscribe(to: channel) }
        case .failure(let error):
            precondition(!error.message.isEmpty)
            if signedByUs {
                switch error {
                case .badSignature, .notJWT, .algorithm: preconditionFailure("a token signed with the key refused as \(error)")
                default: break
                }
            }
        }
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzJWTOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    FuzzJWT.test(UnsafeRawBufferPointer(start: data, count: size))
    return 0
}

/// The entry point: libFuzzer's driver when fuzzing, otherwise a corpus replay.
@main
enum FuzzJWTMain {
    static func main() {
        FuzzEntry.run(fuzzJWTOne) { FuzzJWT.test($0) }
    }
}
