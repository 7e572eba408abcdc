import CShim
import Glibc
import Synchronization

/// Something registered on an event loop that is told when its descriptor is ready.
public protocol EventHandler: AnyObject {
    /// Called on the loop's thread with the epoll bits (`EPOLLIN`, `EPOLLOUT`, …).
    func handleEvents(_ events: UInt32)
}

/// One thread's epoll loop, level-triggered, with timers.
///
/// Other threads reach it through one door: `execute` (a locked job queue) and
/// `wake`, both signalled with an eventfd. Each pass it handles ready
/// descriptors, runs jobs and `onWake`, runs due timers, and calls
/// `beforeSleep` once before it waits again, which is where the server writes
/// to every pending subscriber. It sleeps until the earliest timer.
public final class EventLoop: @unchecked Sendable {
    public let index: Int
    private let epfd: Int32
    private let wakeFd: Int32
    private var handlers: [EventHandler?] = []
    /// Bumped each time a descriptor is registered, and packed with the fd into
    /// epoll's user data, so a stale event for a reused fd is recognised and dropped.
    private var generations: [UInt32] = []
    private let jobsLock = Lock()
    private var jobs: [() -> Void] = []
    private var signalled = false
    private var stopRequested = false
    /// A wake-up asked for on the loop's own thread, handled before it sleeps.
    private var selfWoken = false
    /// The running loop's thread (`pthread_self`), 0 before `run`; read from any thread.
    private let thread = Atomic<UInt>(0)
    private var timers = TimerHeap()
    /// Where the loop reads the time; a `ManualClock` in tests.
    public let clock: any LoopClock

    /// Called on the loop after a wake-up from `wake()`.
    public var onWake: () -> Void = {}
    /// Called on the loop once per pass, before it sleeps.
    public var beforeSleep: () -> Void = {}
    /// Called on the loop about every `tickInterval` nanoseconds with the monotonic time.
    public var onTick: (UInt64) -> Void = { _ in }
    public var tickInterval: UInt64 = 250_000_000

    public init(index: Int = 0, clock: any LoopClock = SystemClock()) throws(SystemError) {
        self.index = index
        self.clock = clock
        epfd = epoll_create1(Int32(EPOLL_CLOEXEC))
        guard epfd >= 0 else { throw SystemError("epoll_create1") }
        wakeFd = eventfd(0, Int32(EFD_NONBLOCK | EFD_CLOEXEC))
        guard wakeFd >= 0 else {
            let e = SystemError("eventfd")
            close(epfd)
            throw e
        }
        var event = epoll_event()
        event.events = EPOLLIN.rawValue
        event.data.u64 = UInt64.max
        guard epoll_ctl(epfd, EPOLL_CTL_ADD, wakeFd, &event) == 0 else {
            let e = SystemError("epoll_ctl(ADD eventfd)")
            close(epfd)
            close(wakeFd)
            throw e
        }
    }

    deinit {
        close(epfd)
        close(wakeFd)
    }

    // MARK: - registration (on the loop's thread, or any thread before `run`)

    public func add(_ fd: Int32, events: UInt32, handler: EventHandler) throws(SystemError) {
        if Int(fd) >= handlers.count {
            let size = max(Int(fd) + 1, handlers.count * 2, 64)
            handlers += Array(repeating: nil, count: size - handlers.count)
            generations += Array(repeating: 0, count: size - generations.count)
        }
        generations[Int(fd)] &+= 1
        var event = epoll_event()
        event.events = events
        event.data.u64 = UInt64(generations[Int(fd)]) << 32 | UInt64(UInt32(fd))
        guard epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &event) == 0 else { throw SystemError("epoll_ctl(ADD)") }
        handlers[Int(fd)] = handler
    }

    public func modify(_ fd: Int32, events: UInt32) {
        guard Int(fd) < handlers.count, handlers[Int(fd)] != nil else { return }
        var event = epoll_event()
        event.events = events
        event.data.u64 = UInt64(generations[Int(fd)]) << 32 | UInt64(UInt32(fd))
        _ = epoll_ctl(epfd, EPOLL_CTL_MOD, fd, &event)
    }

    /// Stops watching `fd`; call before closing it.
    public func remove(_ fd: Int32) {
        guard Int(fd) < handlers.count, handlers[Int(fd)] != nil else { return }
        handlers[Int(fd)] = nil
        _ = epoll_ctl(epfd, EPOLL_CTL_DEL, fd, nil)
    }

    // MARK: - timers (on the loop's thread)

    /// The loop's monotonic time in nanoseconds.
    public var now: UInt64 { clock.monotonicNanos() }

    /// Runs `body` on the loop once `delay` nanoseconds have passed on its clock.
    @discardableResult
    public func schedule(after delay: UInt64, _ body: @escaping () -> Void) -> TimerHandle {
        assertInLoop()
        return timers.schedule(at: now &+ delay, body)
    }

    /// Forgets a timer that has not run yet; a no-op for one that has.
    public func cancel(_ timer: TimerHandle) {
        assertInLoop()
        timers.cancel(timer)
    }

    /// Timers waiting to run, for tests and metrics.
    public var scheduledTimers: Int { timers.count }

    /// Stops a debug build when loop-owned state is touched from another
    /// thread (before `run`, any thread may set the loop up).
    @inline(__always)
    public func assertInLoop(file: StaticString = #fileID, line: UInt = #line) {
        assert(thread.load(ordering: .relaxed) == 0 || inLoopThread, "touched off its event loop's thread", file: file, line: line)
    }

    private func runDueTimers() {
        guard let deadline = timers.nextDeadline, deadline <= now else { return }
        for body in timers.popDue(now: now) { body() }
    }

    /// Milliseconds epoll may sleep: until the earliest timer or tick, at most a second.
    private func sleepMillis(nextTick: UInt64) -> Int32 {
        var until = nextTick
        if let deadline = timers.nextDeadline, deadline < until { until = deadline }
        let current = now
        guard until > current else { return 0 }
        // Rounded up, so the loop does not wake a moment early and spin.
        return Int32(min(until - current, 1_000_000_000) / 1_000_000) + 1
    }

    // MARK: - the door for other threads

    /// Runs `job` on the loop's thread soon.
    public func execute(_ job: @escaping @Sendable () -> Void) {
        jobsLock.withLock { jobs.append(job) }
        wake()
    }

    /// Makes the loop call `onWake` soon; cheap to call often. From the loop's
    /// own thread it only sets a flag: the loop is awake already.
    public func wake() {
        if inLoopThread {
            selfWoken = true
            return
        }
        signalEventFD()
    }

    private func signalEventFD() {
        var one: UInt64 = 1
        // An eventfd write only fails with EAGAIN when the counter is saturated,
        // which still leaves the loop woken.
        _ = Glibc.write(wakeFd, &one, 8)
    }

    public func stop() {
        jobsLock.withLock { stopRequested = true }
        signalEventFD()
    }

    public var inLoopThread: Bool {
        thread.load(ordering: .relaxed) == UInt(pthread_self())
    }

    // MARK: - running

    /// Runs the loop on the calling thread until `stop()`.
    public func run() {
        thread.store(UInt(pthread_self()), ordering: .relaxed)
        let capacity = 256
        let events = UnsafeMutablePointer<epoll_event>.allocate(capacity: capacity)
        defer { events.deallocate() }
        var nextTick = now &+ tickInterval
        while true {
            if selfWoken {
                selfWoken = false
                onWake()
            }
            runDueTimers()
            let current = now
            if current >= nextTick {
                onTick(current)
                nextTick = current &+ tickInterval
            }
            beforeSleep()
            let timeout = selfWoken ? 0 : sleepMillis(nextTick: nextTick)
            let n = epoll_wait(epfd, events, Int32(capacity), timeout)
            if n < 0 {
                if errno == EINTR { continue }
                // EBADF/EINVAL here are programming errors; there is nothing to recover.
                return
            }
            var woken = false
            for i in 0..<Int(n) {
                let data = events[i].data.u64
                if data == UInt64.max {
                    woken = true
                    continue
                }
                let fd = Int32(truncatingIfNeeded: data & 0xFFFF_FFFF)
                let generation = UInt32(truncatingIfNeeded: data >> 32)
                guard Int(fd) < handlers.count, generations[Int(fd)] == generation, let handler = handlers[Int(fd)]
                else { continue }
                handler.handleEvents(events[i].events)
            }
            if woken {
                var value: UInt64 = 0
                _ = Glibc.read(wakeFd, &value, 8)
                let pending = jobsLock.withLock { () -> [() -> Void] in
                    let taken = jobs
                    jobs.removeAll()
                    return taken
                }
                for job in pending { job() }
                onWake()
                // Read after the jobs: a job may be the one that asked to stop.
                if jobsLock.withLock({ stopRequested }) { return }
            }
        }
    }
}
