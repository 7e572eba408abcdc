import Glibc

/// Why a benchmark run could not go on: a failed system call, a bad option, or a broken protocol step.
enum BenchError: Error, CustomStringConvertible {
    case system(String, Int32)
    case usage(String)
    case failed(String)

    var description: String {
        switch self {
        case .system(let call, let code): return "\(call): \(String(cString: strerror(code)))"
        case .usage(let text): return "usage: \(text)"
        case .failed(let text): return text
        }
    }
}
