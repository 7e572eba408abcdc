import Foundation
import Testing

@testable import App

/// `docs/sse-serve.1` against `--help`: the same options and variables, the
/// sections a man page needs, and it renders.
@Suite("Man page")
struct ManPageTests {
    static let page = (try? String(contentsOfFile: repositoryFolder + "/docs/sse-serve.1", encoding: .utf8)) ?? ""

    /// `--name` in plain text, `\-\-name` (and `\-` inside it) in roff.
    static func options(in text: String, roff: Bool) -> Set<String> {
        let plain = roff ? text.replacingOccurrences(of: "\\-", with: "-") : text
        return Set(plain.matches(of: #/--([a-z]+(?:-[a-z]+)*)/#).map { String($0.output.1) })
    }

    static func variables(in text: String) -> Set<String> {
        Set(text.matches(of: #/SSE_[A-Z][A-Z_]*/#).map { String($0.output) })
    }

    @Test("it has every section a user looks for")
    func sections() {
        let headings = Set(Self.page.split(separator: "\n").filter { $0.hasPrefix(".SH ") }.map { $0.dropFirst(4).replacingOccurrences(of: "\"", with: "") })
        for section in ["NAME", "SYNOPSIS", "SOURCES", "OPTIONS", "ENDPOINTS", "SIGNALS", "EXIT STATUS", "ENVIRONMENT", "EXAMPLES"] {
            #expect(headings.contains(section), "section \(section)")
        }
    }

    @Test("every option in --help is in the man page and every option in the man page is in --help")
    func optionsAgree() {
        let help = Self.options(in: CommandLineOptions.help, roff: false)
        let man = Self.options(in: Self.page, roff: true)
        #expect(help.subtracting(man).isEmpty, "in --help, not in the man page: \(help.subtracting(man).sorted())")
        #expect(man.subtracting(help).isEmpty, "in the man page, not in --help: \(man.subtracting(help).sorted())")
        #expect(help == Set(CommandLineOptions.table.map(\.long)))
        for option in CommandLineOptions.table {
            if let short = option.short { #expect(Self.page.contains("\\fB\\-\(short)\\fR, \\fB\\-\\-"), "-\(short)") }
        }
    }

    @Test("the variables agree too")
    func variablesAgree() {
        let help = Self.variables(in: CommandLineOptions.help)
        let man = Self.variables(in: Self.page)
        #expect(help == man, "only in --help: \(help.subtracting(man).sorted()); only in the man page: \(man.subtracting(help).sorted())")
        #expect(help == Set(CommandLineOptions.environmentNames))
    }

    @Test("it renders without warnings")
    func renders() throws {
        if let groff = Programs.which("groff") {
            let result = try Programs.run(groff, ["-ww", "-man", "-z", repositoryFolder + "/docs/sse-serve.1"])
            #expect(result.status == 0)
            #expect(result.errors.isEmpty, "\(result.errors)")
        }
        if let man = Programs.which("man") {
            let result = try Programs.run(man, ["-l", repositoryFolder + "/docs/sse-serve.1"], environment: ["MANWIDTH": "80", "MANPAGER": "cat", "PAGER": "cat"])
            #expect(result.status == 0, "\(result.errors)")
            #expect(result.output.contains("EXIT STATUS"))
        }
    }
}
