import CShim
import EventStream
import Glibc
import Reactor

/// Follows a file like `tail -F`, one event per record appended to it.
///
/// - It starts at the current end of the file: lines already there are not
///   published, because a restarted server would otherwise publish them again
///   under new ids to clients that already have them. A partial last line at
///   start is skipped up to its newline for the same reason.
/// - A partial last line waits for its newline.
/// - Rotation (rename, then a new file at the path): the rest of the old file
///   is read, then the new file from its beginning.
/// - Truncation (copytruncate): reading starts again at the beginning.
/// - A file that does not exist yet, or disappears for a while, is waited for
///   and read from its beginning when it appears.
///
/// inotify on the file's directory wakes it at once; a stat every
/// `tailPollInterval` covers what inotify misses (network file systems, a
/// directory that does not exist yet).
public final class TailSource: Source {
    static let kind = SourceKind(
        name: "tail", usage: "tail:PATH[@CHANNEL]",
        summary: "follows a file like tail -F (appends, rotation, truncation, a file not there yet)",
        argument: .required,
        defaultChannel: { argument throws(SourceError) in try defaultChannel(path: argument ?? "") },
        make: { spec, options in
            TailSource(path: spec.argument ?? "", channel: spec.channel, options: options, name: spec.description)
        })

    public let name: String
    public let channel: String
    public let path: String
    private let options: SourceOptions
    private let thread = SourceThread()
    /// False to rely on polling alone (tests of the fallback).
    let useInotify: Bool

    public convenience init(path: String, channel: String, options: SourceOptions = SourceOptions(), name: String? = nil) {
        self.init(path: path, channel: channel, options: options, name: name, useInotify: true)
    }

    init(path: String, channel: String, options: SourceOptions, name: String?, useInotify: Bool) {
        self.path = path
        self.channel = channel
        self.options = options
        self.name = name ?? "tail:\(path)@\(channel)"
        self.useInotify = useInotify
    }

    /// The file's base name, with characters a channel name cannot have
    /// replaced by `_` (`my log.txt` → `my_log.txt`).
    static func defaultChannel(path: String) throws(SourceError) -> String {
        guard let base = path.split(separator: "/").last, !path.hasSuffix("/") else {
            throw SourceError("tail: '\(path)' does not name a file")
        }
        var name = String(
            String.UnicodeScalarView(
                base.unicodeScalars.map { scalar -> Unicode.Scalar in
                    ChannelName.isValid(String(scalar)) ? scalar : "_"
                }))
        if name.utf8.count > ChannelName.maxLength { name = String(name.utf8.prefix(ChannelName.maxLength)) ?? "tail" }
        guard ChannelName.isValid(name) else { throw SourceError("tail: no channel name can be made from '\(path)'; add @CHANNEL") }
        return name
    }

    public func start(hub: Hub, logger: Logger) throws(SourceError) {
        let publisher = RecordPublisher(
            hub: hub, channel: channel, logger: logger, sourceName: name, format: options.format,
            maxRecordBytes: options.maxRecordBytes)
        let follower = Follower(
            path: path, publisher: publisher, thread: thread, pollInterval: options.tailPollInterval, useInotify: useInotify)
        // Where following starts is fixed here, before the server says it listens:
        // a line appended after that is delivered, not skipped as "before the start".
        follower.begin()
        guard thread.start(name: name, { follower.run() }) else { throw SourceError("\(name): already started") }
    }

    public func stop() { thread.requestStop() }

    public func waitUntilStopped(timeout: Double) -> Bool { thread.waitFinished(timeout: timeout) }
}

/// The state of one `tail -F`: set up by `begin` on the starting thread, then
/// touched only on the source's thread (which starts after it).
private final class Follower: @unchecked Sendable {
    let path: String
    let directory: String
    var publisher: RecordPublisher
    let thread: SourceThread
    let pollInterval: Double
    let useInotify: Bool
    var logger: Logger { publisher.logger }

    var fd: Int32 = -1
    var device: UInt64 = 0
    var inode: UInt64 = 0
    var offset: Int64 = 0
    /// Skip bytes up to the first newline (we started in the middle of a line).
    var discardToNewline = false
    /// The path was missing at the last look (so "waiting" is logged once).
    var missing = false
    /// The last problem logged, so that a lasting one is logged once, not at every look.
    var complaint: String? = nil
    var inotifyFD: Int32 = -1
    var watch: Int32 = -1
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 256 * 1024, alignment: 16)

    init(path: String, publisher: RecordPublisher, thread: SourceThread, pollInterval: Double, useInotify: Bool) {
        self.useInotify = useInotify
        self.path = path
        self.publisher = publisher
        self.thread = thread
        self.pollInterval = max(pollInterval, 0.01)
        if let slash = path.lastIndex(of: "/") {
            let dir = String(path[..<slash])
            directory = dir.isEmpty ? "/" : dir
        } else {
            directory = "."
        }
    }

    deinit {
        buffer.deallocate()
        if fd >= 0 { close(fd) }
        if inotifyFD >= 0 { close(inotifyFD) }
    }

    /// Watches the directory and opens the file at its end; before `run`, on the starting thread.
    func begin() {
        inotifyFD = useInotify ? inotify_init1(Int32(IN_NONBLOCK) | Int32(IN_CLOEXEC)) : -1
        if useInotify && inotifyFD < 0 { logger.debug("\(publisher.sourceName): \(SystemError("inotify_init1")); polling instead") }
        addWatch()
        if openFile(atEnd: true) {
            logger.debug("\(publisher.sourceName): following \(path) from byte \(offset)")
        } else {
            var info = stat()
            if stat(path, &info) != 0 {
                missing = true
                logger.info("\(publisher.sourceName): \(path) does not exist yet; waiting for it")
            }
        }
    }

    /// Follows the file until the source is stopped; on the source's thread.
    func run() {
        while !thread.isStopping {
            if !check() { return }
            var fds = [
                pollfd(fd: thread.stopFD, events: Int16(POLLIN), revents: 0),
                pollfd(fd: inotifyFD, events: Int16(POLLIN), revents: 0),
            ]
            _ = poll(&fds, 2, Int32(pollInterval * 1000))
            if thread.isStopping { return }
            if fds[1].revents != 0 { drainInotify() }
            if watch < 0 { addWatch() }
        }
    }

    private func addWatch() {
        guard inotifyFD >= 0 else { return }
        // The directory, not the file: it reports creation and renames of the
        // path as well as writes to whichever file is there now.
        let mask = UInt32(IN_MODIFY) | UInt32(IN_CREATE) | UInt32(IN_MOVED_TO) | UInt32(IN_MOVED_FROM)
            | UInt32(IN_DELETE) | UInt32(IN_CLOSE_WRITE) | UInt32(IN_ATTRIB)
        watch = inotify_add_watch(inotifyFD, directory, mask)
    }

    private func drainInotify() {
        while true {
            let n = read(inotifyFD, buffer.baseAddress, buffer.count)
            if n <= 0 { return }
            // inotify_event: wd, mask, cookie, len, then `len` bytes of name.
            var at = 0
            while at + 16 <= n {
                let mask = buffer.loadUnaligned(fromByteOffset: at + 4, as: UInt32.self)
                let length = Int(buffer.loadUnaligned(fromByteOffset: at + 12, as: UInt32.self))
                if mask & UInt32(IN_IGNORED) != 0 { watch = -1 }  // the directory went away
                at += 16 + length
            }
        }
    }

    /// Opens the path; at start, positions at its end. False if it is not
    /// there or cannot be read (said once, then retried at every look).
    private func openFile(atEnd: Bool) -> Bool {
        let newFD = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard newFD >= 0 else {
            let error = SystemError("open(\(path))")
            if errno != ENOENT && errno != ENOTDIR { complainOnce("\(error); retrying") }
            return false
        }
        var info = stat()
        guard fstat(newFD, &info) == 0, info.st_mode & S_IFMT != S_IFDIR else {
            close(newFD)
            complainOnce("\(path) is a directory, not a file; retrying")
            return false
        }
        complaint = nil
        fd = newFD
        device = UInt64(info.st_dev)
        inode = UInt64(info.st_ino)
        offset = 0
        discardToNewline = false
        if atEnd && info.st_size > 0 {
            offset = Int64(info.st_size)
            var last: UInt8 = 0
            if pread(fd, &last, 1, off_t(offset - 1)) == 1 && last != 0x0A { discardToNewline = true }
            lseek(fd, off_t(offset), SEEK_SET)
        }
        return true
    }

    private func complainOnce(_ message: String) {
        if complaint != message { logger.warning("\(publisher.sourceName): \(message)") }
        complaint = message
    }

    /// One look at the file: new bytes, truncation, replacement. False when the hub has shut down.
    private func check() -> Bool {
        if fd >= 0 {
            var info = stat()
            if fstat(fd, &info) == 0 && Int64(info.st_size) < offset {
                logger.info("\(publisher.sourceName): \(path) was truncated; reading from its beginning")
                lseek(fd, 0, SEEK_SET)
                offset = 0
                discardToNewline = false
                publisher.reset()
            }
            if !readToEnd() { return false }
        }
        var info = stat()
        if stat(path, &info) == 0 {
            if fd < 0 || UInt64(info.st_ino) != inode || UInt64(info.st_dev) != device {
                if fd >= 0 {
                    // Rotated: what was written to the old file before the switch still counts.
                    if !readToEnd() { return false }
                    if !publisher.finish() { return false }
                    close(fd)
                    fd = -1
                    logger.info("\(publisher.sourceName): \(path) was replaced; following the new file")
                } else if missing {
                    logger.info("\(publisher.sourceName): \(path) appeared; following it")
                }
                missing = false
                if openFile(atEnd: false) && !readToEnd() { return false }
            }
        } else if !missing {
            missing = true
            logger.info("\(publisher.sourceName): \(path) disappeared; waiting for it to come back")
        }
        return true
    }

    /// Reads and publishes everything up to the current end of the file.
    private func readToEnd() -> Bool {
        while !thread.isStopping {
            let n = read(fd, buffer.baseAddress, buffer.count)
            if n < 0 {
                if errno == EINTR { continue }
                if errno != EAGAIN { complainOnce("\(SystemError("read(\(path))"))") }
                return true
            }
            if n == 0 { return true }
            offset += Int64(n)
            var chunk = UnsafeRawBufferPointer(rebasing: buffer[0..<n])
            if discardToNewline {
                guard let lf = chunk.firstIndex(of: 0x0A) else { continue }
                discardToNewline = false
                chunk = UnsafeRawBufferPointer(rebasing: chunk[(lf + 1)...])
            }
            if !publisher.consume(chunk) { return false }
        }
        return true
    }
}
