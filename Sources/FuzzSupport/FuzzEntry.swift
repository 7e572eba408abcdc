import Foundation

#if FUZZING
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<Int32>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32) -> Int32
#endif

/// The `main` every fuzz target shares: libFuzzer's driver when built with
/// `-DFUZZING`, otherwise a replay of the corpus files named as arguments.
public enum FuzzEntry {
    public static func run(
        _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32,
        _ test: (UnsafeRawBufferPointer) -> Void
    ) -> Never {
        #if FUZZING
        var argc = CommandLine.argc
        var argv = CommandLine.unsafeArgv
        exit(LLVMFuzzerRunDriver(&argc, &argv, callback))
        #else
        exit(CorpusReplay.run(CommandLine.arguments.dropFirst(), test))
        #endif
    }
}

/// Runs each file (or every file in each directory) named on the command line once.
enum CorpusReplay {
    static func run(_ paths: ArraySlice<String>, _ test: (UnsafeRawBufferPointer) -> Void) -> Int32 {
        guard !paths.isEmpty else {
            FileHandle.standardError.write(Data("usage: \(CommandLine.arguments[0]) FILE|DIR ...  (replays inputs once)\n".utf8))
            return 2
        }
        var count = 0
        for path in paths {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
                FileHandle.standardError.write(Data("\(path): no such file\n".utf8))
                return 1
            }
            let files = isDirectory.boolValue
                ? ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted().map { path + "/" + $0 } : [path]
            for file in files {
                guard let data = FileManager.default.contents(atPath: file) else { continue }
                data.withUnsafeBytes { test($0) }
                count += 1
            }
        }
        print("replayed \(count) inputs")
        return 0
    }
}
