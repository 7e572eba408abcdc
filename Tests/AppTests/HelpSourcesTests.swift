import Testing

@testable import App
import Feeds

/// `--help` lists the sources from `SourceKind.all`, so a new kind shows up there by itself.
@Suite("Help lists the sources")
struct HelpSourcesTests {
    @Test("every kind's usage and first words of its summary are in --help, in order")
    func everyKind() {
        let help = CommandLineOptions.help
        var previous = help.startIndex
        for kind in SourceKind.all {
            guard let usage = help.range(of: "  " + kind.usage + " ") else {
                Issue.record("\(kind.usage) missing from --help")
                continue
            }
            #expect(usage.lowerBound > previous, "\(kind.name) in SourceKind.all order")
            previous = usage.lowerBound
            let firstWords = kind.summary.split(separator: " ").prefix(3).joined(separator: " ")
            let after = help[usage.upperBound...].drop { $0 == " " }
            #expect(after.hasPrefix(firstWords), "\(kind.name): its summary beside its usage")
        }
    }
}
