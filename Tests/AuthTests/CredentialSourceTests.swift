import XCTest

@testable import Auth

final class CredentialSourceTests: XCTestCase {
    private func find(_ authorization: String?, _ cookie: String?, _ query: String?) -> String? {
        guard let found = CredentialSource.find(authorization: authorization, cookie: cookie, queryToken: query) else { return nil }
        return "\(found.source.rawValue):\(found.token)"
    }

    func testTheHeaderWinsThenTheCookieThenTheQuery() {
        XCTAssertEqual(find("Bearer h", "sse_token=c", "q"), "authorization:h")
        XCTAssertEqual(find(nil, "sse_token=c", "q"), "cookie:c")
        XCTAssertEqual(find(nil, nil, "q"), "query:q")
        XCTAssertEqual(find(nil, nil, nil), nil)
        XCTAssertEqual(find("Basic dXNlcjpwdw==", "other=1", "q"), "query:q", "another scheme is passed over")
        XCTAssertEqual(find("Bearer ", "sse_token=", ""), nil, "empty values are no token")
    }

    func testBearerTokens() {
        XCTAssertEqual(CredentialSource.bearerToken("Bearer abc.def-_~+/="), "abc.def-_~+/=")
        XCTAssertEqual(CredentialSource.bearerToken("bearer x"), "x")
        XCTAssertEqual(CredentialSource.bearerToken("BEARER   x  "), "x")
        XCTAssertEqual(CredentialSource.bearerToken(" Bearer\tx"), "x")
        XCTAssertNil(CredentialSource.bearerToken("Bearerx"))
        XCTAssertNil(CredentialSource.bearerToken("Bearer"))
        XCTAssertNil(CredentialSource.bearerToken("Bearer    "))
        XCTAssertNil(CredentialSource.bearerToken("Bearer a b"))
        XCTAssertNil(CredentialSource.bearerToken("Token x"))
        XCTAssertNil(CredentialSource.bearerToken("Béarer x"))
    }

    /// RFC 6265 cookie headers: `;` separated, spaces around, first one wins, quotes removed.
    func testCookieParsing() {
        func value(_ header: String) -> String? { CredentialSource.cookieValue(named: "sse_token", in: header) }
        XCTAssertEqual(value("sse_token=abc"), "abc")
        XCTAssertEqual(value("a=1; sse_token=abc; b=2"), "abc")
        XCTAssertEqual(value("a=1;sse_token=abc;b=2"), "abc")
        XCTAssertEqual(value("  sse_token = abc  ;"), "abc")
        XCTAssertEqual(value("sse_token=first; sse_token=second"), "first")
        XCTAssertEqual(value("sse_token=\"quoted.value\""), "quoted.value")
        XCTAssertEqual(value("sse_token=\""), "\"")
        XCTAssertEqual(value("sse_token=a=b=c"), "a=b=c")
        XCTAssertEqual(value("sse_token="), "")
        XCTAssertNil(value("xsse_token=abc; sse_tokenx=abc"))
        XCTAssertNil(value("sse_token"))
        XCTAssertNil(value(""))
        XCTAssertNil(value(";;;"))
        XCTAssertEqual(value("é=1; sse_token=ok"), "ok")
    }
}
