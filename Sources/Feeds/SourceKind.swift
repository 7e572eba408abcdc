/// One kind of source as the command line knows it: its name before the `:`,
/// whether it takes an argument, its default channel and how to make it.
///
/// Adding a kind of source is one new file (the source, with a `static let kind`)
/// plus one line in `SourceKind.all`.
public struct SourceKind: Sendable {
    /// Whether the spec takes `:ARGUMENT` after the kind's name.
    public enum Argument: Sendable { case none, optional, required }

    public let name: String
    /// The spec's shape for `--help`, e.g. `tail:PATH[@CHANNEL]`.
    public let usage: String
    /// One line for `--help`.
    public let summary: String
    public let argument: Argument
    let defaultChannel: @Sendable (_ argument: String?) throws(SourceError) -> String
    let make: @Sendable (_ spec: SourceSpec, _ options: SourceOptions) throws(SourceError) -> any Source

    init(
        name: String, usage: String, summary: String, argument: Argument,
        defaultChannel: @escaping @Sendable (_ argument: String?) throws(SourceError) -> String,
        make: @escaping @Sendable (_ spec: SourceSpec, _ options: SourceOptions) throws(SourceError) -> any Source
    ) {
        self.name = name
        self.usage = usage
        self.summary = summary
        self.argument = argument
        self.defaultChannel = defaultChannel
        self.make = make
    }

    /// Every kind the command line accepts, in the order `--help` lists them.
    public static let all: [SourceKind] = [
        TickerSource.kind,
        StdinSource.kind,
        TailSource.kind,
        ExecSource.kind,
        RelaySource.kind,
    ]

    public static func named(_ name: String) -> SourceKind? {
        all.first { $0.name == name }
    }
}
