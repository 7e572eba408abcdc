/// One command-line option: its names, the value it takes, its default, its
/// help line, its environment variable, and how its value is stored.
///
/// `CommandLineOptions.table` lists them all; parsing, `--help`, the
/// environment lookup and the man-page test read that one list, so they
/// cannot drift apart.
struct OptionDescriptor: Sendable {
    /// The name after `--`, e.g. `max-clients`.
    let long: String
    /// The one-letter name after `-`, if any.
    let short: Character?
    /// What the value is called in the help (`N`, `SEC`); nil for a flag.
    let valueName: String?
    /// The default as the help shows it, in brackets.
    let defaultText: String?
    let help: String
    /// The heading the option is listed under in `--help` and the man page.
    let section: Section
    /// False for `--help` and `--version`, which no variable should trigger.
    let hasEnvironment: Bool
    /// Options that set the same thing (`--quiet`, `--verbose`) share a slot, so
    /// a flag for one also overrides the variable of the other.
    let slot: String
    /// Stores the value; throws `CommandLineOptions.UsageError` for a bad one.
    let apply: @Sendable (inout CommandLineOptions, OptionValue) throws -> Void

    /// The headings, in the order they are listed; the raw value is the heading.
    enum Section: String, CaseIterable, Sendable {
        case general = "OPTIONS"
        case operation = "BUDGETS AND LOGGING"
        case scaleOut = "SCALE-OUT"
        case access = "ACCESS CONTROL"
        case presence = "PRESENCE AND WEBHOOKS"
    }

    init(
        _ long: String, short: Character? = nil, value: String? = nil, default defaultText: String? = nil,
        _ help: String, section: Section = .general, environment: Bool = true, slot: String? = nil,
        apply: @escaping @Sendable (inout CommandLineOptions, OptionValue) throws -> Void
    ) {
        self.long = long
        self.short = short
        self.valueName = value
        self.defaultText = defaultText
        self.help = help
        self.section = section
        self.hasEnvironment = environment
        self.slot = slot ?? long
        self.apply = apply
    }

    var isFlag: Bool { valueName == nil }

    /// `SSE_` + the long name in capitals with `_` for `-`: `SSE_MAX_CLIENTS`.
    var environmentName: String {
        "SSE_" + String(long.uppercased().map { $0 == "-" ? "_" : $0 })
    }

    /// `-p, --port N` as the help's left column shows it.
    var usage: String {
        var text = short.map { "-\($0), " } ?? ""
        text += "--" + long
        if let valueName { text += " " + valueName }
        return text
    }
}
