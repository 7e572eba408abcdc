import Glibc

/// Where the dashboard (`public/`) and the ticker's feed files (`feeds/`) are
/// found when no path is given: the working folder first, then the installed
/// share folder beside the binary (`BIN/../share/sse-serve`), so an installed
/// `sse-serve` works from any folder.
public struct ResourceSearch: Sendable, Equatable {
    /// The folder `public` and `feeds` are first looked for in (`.`).
    public var workingDirectory: String
    /// `PREFIX/share/sse-serve` for a binary in `PREFIX/bin`; nil when unknown.
    public var shareDirectory: String?

    public init(workingDirectory: String = ".", shareDirectory: String?) {
        self.workingDirectory = workingDirectory
        self.shareDirectory = shareDirectory
    }

    /// The search for the running binary: its share folder from `/proc/self/exe`.
    public static func forThisProcess() -> ResourceSearch {
        ResourceSearch(shareDirectory: executablePath().map(shareDirectory(besideBinary:)))
    }

    /// `DIR/../share/sse-serve` for a binary in `DIR`, without `..` in it.
    public static func shareDirectory(besideBinary binary: String) -> String {
        var parts = binary.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        parts.removeLast(min(2, parts.count))  // the file name and its folder (bin)
        return "/" + (parts + ["share", "sse-serve"]).joined(separator: "/")
    }

    /// The dashboard folder to serve and where it was found, or nil when there is none.
    public func publicDirectory() -> (path: String, origin: String)? {
        let local = Self.join(workingDirectory, "public")
        if Self.isDirectory(local) { return (local, "found in the working folder") }
        if let shareDirectory {
            let installed = shareDirectory + "/public"
            if Self.isDirectory(installed) { return (installed, "the installed share folder") }
        }
        return nil
    }

    /// The folders `ticker:NAME` looks in, in order (the share folder's even
    /// when absent: the error then names every place looked in).
    public var feedDirectories: [String] {
        [Self.join(workingDirectory, "feeds")] + (shareDirectory.map { [$0 + "/feeds"] } ?? [])
    }

    /// The places looked in for a dashboard, for the message when none is found.
    public var publicCandidates: [String] {
        [Self.join(workingDirectory, "public")] + (shareDirectory.map { [$0 + "/public"] } ?? [])
    }

    static func join(_ folder: String, _ name: String) -> String {
        folder == "." ? name : folder + "/" + name
    }

    static func isDirectory(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
    }

    static func executablePath() -> String? {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard n > 0 else { return nil }
        return String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
