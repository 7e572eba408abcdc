import Glibc
import Reactor
import HTTP

/// Serves the files of one folder: content types, `index.html` for a folder,
/// `ETag`/`Last-Modified` with `304`, gzip for clients that accept it, and
/// never a path outside the folder (decoded `..` is refused, symlinks are
/// resolved and checked).
final class StaticFiles: @unchecked Sendable {
    let root: String
    private let cacheLock = Lock()
    private var gzipCache: [String: [UInt8]] = [:]
    static let maxFileSize = 64 << 20
    /// Files up to this size are read whole (and gzipped, once, into the cache);
    /// larger ones are sent as they are, in pieces, as the socket takes them.
    static let wholeFileLimit = 1 << 20

    /// What a request for a file gets.
    enum Answer {
        /// A whole response (small files, redirects, 304, errors).
        case response(Response)
        /// The head of a large file's response (with its `Content-Length`), and its body to send after it.
        case file(Response, FileBody)
    }

    /// The answer under `/` when no `--public` folder was found: why, and how to give one.
    static let noDashboard = "not found: sse-serve found no --public folder (./public, or share/sse-serve/public beside the binary), "
        + "so it serves no files; start it with --public DIR\n"

    init?(directory: String) {
        guard let resolved = realpath(directory, nil) else { return nil }
        root = String(cString: resolved)
        free(resolved)
    }

    /// The answer for `path` (already percent-decoded).
    func answer(for path: String, head: RequestHead) -> Answer {
        switch lookUp(path, head: head) {
        case .response(let response):
            return .response(response)
        case .small(let headers, let real, let size):
            return .response(whole(real, size: size, headers: headers, head: head))
        case .large(let headers, let real, let size):
            let fd = open(real, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { return .response(.text(404, "not found")) }
            var info = stat()
            // The length announced is the length of the file opened.
            guard fstat(fd, &info) == 0, Int(info.st_size) == size else {
                Glibc.close(fd)
                return .response(.text(404, "not found"))
            }
            return .file(Response(status: 200, headers: headers + [("Content-Length", String(size))]), FileBody(fd: fd, size: size))
        }
    }

    /// What a look-up found: a whole response, or a file to answer with.
    private enum LookUp {
        case response(Response)
        case small(headers: [(name: String, value: String)], path: String, size: Int)
        case large(headers: [(name: String, value: String)], path: String, size: Int)
    }

    private func lookUp(_ path: String, head: RequestHead) -> LookUp {
        func answer(_ response: Response) -> LookUp { .response(response) }
        guard !path.utf8.contains(0), !path.split(separator: "/").contains(".."), path.hasPrefix("/") else {
            return answer(.text(400, "bad path"))
        }
        var full = root + path
        var info = stat()
        guard stat(full, &info) == 0 else { return answer(.text(404, "not found")) }
        if (info.st_mode & S_IFMT) == S_IFDIR {
            guard path.hasSuffix("/") else {
                return answer(Response(status: 301, headers: [("Location", Self.encodePath(path) + "/")], body: []))
            }
            full += "index.html"
            guard stat(full, &info) == 0 else { return answer(.text(404, "not found")) }
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else { return answer(.text(404, "not found")) }
        guard let resolved = realpath(full, nil) else { return answer(.text(404, "not found")) }
        let real = String(cString: resolved)
        free(resolved)
        guard real.hasPrefix(root == "/" ? "/" : root + "/") else { return answer(.text(404, "not found")) }
        guard info.st_size <= Self.maxFileSize else { return answer(.text(500, "file too large to serve")) }

        let mtime = Int64(info.st_mtim.tv_sec) * 1_000_000_000 + Int64(info.st_mtim.tv_nsec)
        let etag = "\"\(String(info.st_size, radix: 16))-\(String(mtime, radix: 16))\""
        let lastModified = HTTPDate.format(seconds: Int(info.st_mtim.tv_sec))
        let type = Self.contentType(for: real)
        var headers: [(name: String, value: String)] = [
            ("Content-Type", type), ("ETag", etag), ("Last-Modified", lastModified), ("Cache-Control", "no-cache"),
        ]
        let compressible = Self.isCompressible(type)
        if compressible { headers.append(("Vary", "Accept-Encoding")) }

        if let match = head.header("If-None-Match") {
            if match.split(separator: ",").contains(where: { let t = $0.trimmingSpaces(); return t == etag || t == "*" || t == "W/" + etag }) {
                return answer(Response(status: 304, headers: headers))
            }
        } else if let since = head.header("If-Modified-Since"), let time = HTTPDate.parse(since), Int(info.st_mtim.tv_sec) <= time {
            return answer(Response(status: 304, headers: headers))
        }
        let size = Int(info.st_size)
        return size > Self.wholeFileLimit ? .large(headers: headers, path: real, size: size) : .small(headers: headers, path: real, size: size)
    }

    /// A file read whole, gzipped (once, then from the cache) for a client that accepts it.
    private func whole(_ real: String, size: Int, headers: [(name: String, value: String)], head: RequestHead) -> Response {
        var headers = headers
        guard let body = Self.read(real, size: size) else { return .text(404, "not found") }
        if Self.isCompressible(Self.contentType(for: real)) && body.count > 256 && head.accepts(encoding: "gzip") {
            let key = real + (headers.first { $0.name == "ETag" }?.value ?? "")
            let cached = cacheLock.withLock { gzipCache[key] }
            if let zipped = cached ?? GzipEncoder.gzip(body) {
                if cached == nil {
                    cacheLock.withLock {
                        // Edited files leave old entries behind: start afresh now and then.
                        if gzipCache.count >= 256 { gzipCache.removeAll() }
                        gzipCache[key] = zipped
                    }
                }
                headers.append(("Content-Encoding", "gzip"))
                return Response(status: 200, headers: headers, body: zipped)
            }
        }
        return Response(status: 200, headers: headers, body: body)
    }

    private static func read(_ path: String, size: Int) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes = [UInt8](repeating: 0, count: size)
        var offset = 0
        let ok = bytes.withUnsafeMutableBytes { raw -> Bool in
            while offset < size {
                let n = Glibc.read(fd, raw.baseAddress! + offset, size - offset)
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { return false }
                offset += n
            }
            return true
        }
        return ok ? bytes : nil
    }

    static func encodePath(_ path: String) -> String {
        var out = ""
        for b in path.utf8 {
            switch b {
            case 0x30...0x39, 0x41...0x5A, 0x61...0x7A, 0x2D, 0x2E, 0x5F, 0x7E, 0x2F: out.unicodeScalars.append(UnicodeScalar(b))
            default: out += "%" + String(b, radix: 16, uppercase: true).leftPadded(2)
            }
        }
        return out
    }

    static func contentType(for path: String) -> String {
        let ext = path.split(separator: "/").last?.split(separator: ".").last.map { $0.lowercased() } ?? ""
        switch ext {
        case "html", "htm": return "text/html; charset=utf-8"
        case "css": return "text/css; charset=utf-8"
        case "js", "mjs": return "text/javascript; charset=utf-8"
        case "json", "map": return "application/json"
        case "svg": return "image/svg+xml"
        case "png": return "image/png"
        case "jpg", "jpeg": return "image/jpeg"
        case "gif": return "image/gif"
        case "webp": return "image/webp"
        case "ico": return "image/x-icon"
        case "txt", "md", "log": return "text/plain; charset=utf-8"
        case "xml": return "application/xml"
        case "wasm": return "application/wasm"
        case "woff2": return "font/woff2"
        case "woff": return "font/woff"
        case "pdf": return "application/pdf"
        default: return "application/octet-stream"
        }
    }

    static func isCompressible(_ type: String) -> Bool {
        type.hasPrefix("text/") || type.hasPrefix("application/json") || type.hasPrefix("image/svg")
            || type.hasPrefix("application/xml") || type.hasPrefix("application/wasm")
    }
}

extension String {
    func leftPadded(_ width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
