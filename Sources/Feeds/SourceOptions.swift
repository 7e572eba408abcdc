import EventStream

/// What every source is made with, from the command line.
public struct SourceOptions: Sendable {
    /// How stdin, tail and exec records become events (`--format`).
    public var format: RecordFormat
    /// The longest record; a longer one is reported and skipped.
    public var maxRecordBytes: Int
    /// Where `ticker` looks for feed files (`ticker:crypto` finds `feeds/crypto.json`).
    public var feedsDirectory: String
    /// Folders looked in after `feedsDirectory` (the installed share folder's `feeds`).
    public var moreFeedsDirectories: [String] = []
    /// The descriptor the `stdin` source reads (tests give it a pipe).
    public var standardInput: Int32
    /// How often `tail` looks at its file when inotify is silent or unavailable, in seconds.
    public var tailPollInterval: Double
    /// How long `exec` waits after SIGTERM before SIGKILL, in seconds (short enough
    /// for `stopAll(timeout: 2)` to see the group gone).
    public var execGracePeriod: Double

    public init(
        format: RecordFormat = .line, maxRecordBytes: Int = 1 << 20, feedsDirectory: String = "feeds",
        standardInput: Int32 = 0, tailPollInterval: Double = 0.25, execGracePeriod: Double = 1.5
    ) {
        self.format = format
        self.maxRecordBytes = maxRecordBytes
        self.feedsDirectory = feedsDirectory
        self.standardInput = standardInput
        self.tailPollInterval = tailPollInterval
        self.execGracePeriod = execGracePeriod
    }
}
