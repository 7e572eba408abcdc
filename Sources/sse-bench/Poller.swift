import CShim
import Glibc

/// A level-triggered epoll set whose user data is a plain 64-bit token (a connection index).
final class Poller {
    let fd: Int32
    private var events: UnsafeMutablePointer<epoll_event>
    private let capacity: Int

    init(capacity: Int = 1024) throws(BenchError) {
        fd = epoll_create1(Int32(EPOLL_CLOEXEC))
        if fd < 0 { throw BenchError.system("epoll_create1", errno) }
        self.capacity = capacity
        events = .allocate(capacity: capacity)
    }

    deinit {
        events.deallocate()
        close(fd)
    }

    static let readable = UInt32(EPOLLIN.rawValue) | UInt32(EPOLLRDHUP.rawValue)
    static let writable = UInt32(EPOLLOUT.rawValue)

    func add(_ target: Int32, token: UInt64, events mask: UInt32) throws(BenchError) {
        try control(EPOLL_CTL_ADD, target, token, mask, "epoll_ctl(ADD)")
    }

    func modify(_ target: Int32, token: UInt64, events mask: UInt32) throws(BenchError) {
        try control(EPOLL_CTL_MOD, target, token, mask, "epoll_ctl(MOD)")
    }

    /// Removal is best effort: closing the descriptor removes it anyway.
    func remove(_ target: Int32) {
        var ev = epoll_event()
        _ = epoll_ctl(fd, EPOLL_CTL_DEL, target, &ev)
    }

    private func control(_ op: Int32, _ target: Int32, _ token: UInt64, _ mask: UInt32, _ name: String) throws(BenchError) {
        var ev = epoll_event()
        ev.events = mask
        ev.data.u64 = token
        if epoll_ctl(fd, op, target, &ev) < 0 { throw BenchError.system(name, errno) }
    }

    /// Waits up to `timeoutMs` and calls `body(token, events)` for each ready descriptor.
    /// EINTR counts as a wake-up with nothing ready.
    func wait(timeoutMs: Int32, _ body: (UInt64, UInt32) throws(BenchError) -> Void) throws(BenchError) {
        let n = epoll_wait(fd, events, Int32(capacity), timeoutMs)
        if n < 0 {
            if errno == EINTR { return }
            throw BenchError.system("epoll_wait", errno)
        }
        for i in 0..<Int(n) {
            try body(events[i].data.u64, events[i].events)
        }
    }
}
