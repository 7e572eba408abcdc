import Foundation
import Testing

@testable import App

/// `make install` into a temporary PREFIX, then the installed binary run from
/// an unrelated folder, as a user who never saw the repository would.
@Suite("Install")
struct InstallTests {
    @Test("installed into a PREFIX, it serves its dashboard and the crypto feed from any folder", .timeLimit(.minutes(2)))
    func installAndRunElsewhere() throws {
        guard let make = Programs.which("make"), let binaries = Programs.binaryFolder() else {
            print("skipped: no make or no built sse-serve")
            return
        }
        let root = try temporaryFolder("install")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let prefix = root + "/prefix"
        let elsewhere = root + "/elsewhere"
        try FileManager.default.createDirectory(atPath: elsewhere, withIntermediateDirectories: true)

        // The debug build stands in for the release one: a static release build takes minutes.
        let install = try Programs.run(make, ["-C", repositoryFolder, "install", "SKIP_BUILD=1", "BIN_SRC=\(binaries)", "PREFIX=\(prefix)"])
        #expect(install.status == 0, "\(install.output)\(install.errors)")
        for file in ["bin/sse-serve", "share/sse-serve/public/index.html", "share/sse-serve/feeds/crypto.json", "share/man/man1/sse-serve.1"] {
            #expect(FileManager.default.fileExists(atPath: prefix + "/" + file), "installed \(file)")
        }

        let server = try ServerProcess(prefix + "/bin/sse-serve", ["--port", "0", "-v", "ticker:crypto@coins"], in: elsewhere)
        let page = try httpGet(server.port, "/")
        #expect(page.status == 200)
        #expect(page.body.contains("<html") || page.body.contains("<!doctype") || page.body.contains("<!DOCTYPE"))
        let stream = try httpGet(server.port, "/events/coins", until: { $0.contains("\"BTC\"") }, timeout: 10)
        #expect(stream.status == 200)
        #expect(stream.body.contains("\"BTC\""), "the crypto feed's symbols: \(stream.body.prefix(300))")
        #expect(server.stop() == 0)
        #expect(server.stderrText.contains("dashboard: \(prefix)/share/sse-serve/public (the installed share folder)"), "\(server.stderrText)")

        if let analyze = Programs.which("systemd-analyze") {
            // The unit as shipped, pointed at the installed binary; MANPATH lets it find the man page.
            let unitFolder = root + "/unit"
            try FileManager.default.createDirectory(atPath: unitFolder, withIntermediateDirectories: true)
            let unit = try String(contentsOfFile: repositoryFolder + "/contrib/sse-serve.service", encoding: .utf8)
                .replacingOccurrences(of: "ExecStart=/usr/local/bin/sse-serve", with: "ExecStart=\(prefix)/bin/sse-serve")
            try unit.write(toFile: unitFolder + "/sse-serve.service", atomically: true, encoding: .utf8)
            var arguments = ["verify"]
            if Programs.which("man") == nil { arguments.append("--man=no") }
            let verify = try Programs.run(analyze, arguments + [unitFolder + "/sse-serve.service"], environment: ["MANPATH": prefix + "/share/man"])
            #expect(verify.status == 0, "systemd-analyze verify: \(verify.output)\(verify.errors)")
        }

        let uninstall = try Programs.run(make, ["-C", repositoryFolder, "uninstall", "PREFIX=\(prefix)"])
        #expect(uninstall.status == 0)
        #expect(!FileManager.default.fileExists(atPath: prefix + "/bin/sse-serve"))
        #expect(!FileManager.default.fileExists(atPath: prefix + "/share/sse-serve"))
    }

    @Test("with no dashboard anywhere, / says why and how to give one")
    func noDashboard() throws {
        guard let binaries = Programs.binaryFolder() else { return }
        let elsewhere = try temporaryFolder("nodash")
        defer { try? FileManager.default.removeItem(atPath: elsewhere) }
        // The build folder has no share/sse-serve beside it.
        let server = try ServerProcess(binaries + "/sse-serve", ["--port", "0", "-v", "ticker@t"], in: elsewhere)
        let page = try httpGet(server.port, "/")
        #expect(page.status == 404)
        #expect(page.body.contains("--public"))
        #expect(server.stop() == 0)
        #expect(server.stderrText.contains("no dashboard"))
    }

    @Test("with --log-format json every line standard error gets is a JSON object")
    func jsonLog() throws {
        guard let binaries = Programs.binaryFolder() else { return }
        let elsewhere = try temporaryFolder("json")
        defer { try? FileManager.default.removeItem(atPath: elsewhere) }
        let server = try ServerProcess(binaries + "/sse-serve", ["--port", "0", "-v", "--log-format", "json", "ticker@t"], in: elsewhere)
        #expect(server.stop() == 0)
        let lines = server.stderrText.split(separator: "\n")
        #expect(lines.count >= 4, "listening, dashboard, feeds, source, signal: \(server.stderrText)")
        for line in lines {
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "\(line)")
            #expect(object["time"] is String && object["level"] is String && object["msg"] is String, "\(line)")
        }
        #expect(lines.first?.contains("\"msg\":\"listening on http://127.0.0.1:\(server.port)\"") == true)
    }

    @Test("the unit is hardened and names only known variables")
    func unitFile() throws {
        let unit = try String(contentsOfFile: repositoryFolder + "/contrib/sse-serve.service", encoding: .utf8)
        let lines = Set(unit.split(separator: "\n").map(String.init))
        for setting in [
            "DynamicUser=yes", "NoNewPrivileges=yes", "ProtectSystem=strict", "ProtectHome=yes", "PrivateTmp=yes",
            "LimitNOFILE=65536", "Restart=on-failure",
        ] {
            #expect(lines.contains(setting), "\(setting)")
        }
        let known = Set(CommandLineOptions.environmentNames)
        for line in lines where line.hasPrefix("Environment=") || line.hasPrefix("#Environment=") {
            let name = line.split(separator: "=")[1]
            #expect(known.contains(String(name)), "\(line)")
        }
    }
}
