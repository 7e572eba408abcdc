import CShim
import EventStream
import Glibc
import HTTP
import Reactor

/// Everything one event loop owns: its connections, its windows onto channels,
/// and the list of subscribers with something to write this pass.
///
/// Touched only on its loop's thread.
final class LoopContext: EventHandler, @unchecked Sendable {
    let loop: EventLoop
    let group: DeliveryGroup
    let server: ServerContext
    private(set) var connections: [Connection] = []
    private var subscribers: [ObjectIdentifier: SubscriberList] = [:]
    private var pending: [Connection] = []
    private var flushing: [Connection] = []
    private var touchedWindows: [ChannelWindow] = []
    private var listenerFD: Int32 = -1
    /// A descriptor held back so that, when the process runs out, one can be
    /// freed to accept and refuse a connection instead of spinning on EMFILE.
    private var reserveFD: Int32 = -1
    private var lastDescriptorWarning: UInt64 = 0
    /// How the listener accepts; a test swaps in one that fails as a process
    /// out of descriptors would.
    var acceptConnection: (Int32) -> IOResult = Socket.accept
    /// The listener is off epoll until a timer puts it back: accepting failed
    /// for lack of descriptors and the reserve could not make room.
    private(set) var acceptPaused = false
    /// The current pause in nanoseconds (doubling up to a second); 0 once an accept succeeds.
    private var acceptBackoff: UInt64 = 0
    /// Scratch space for writev: one vector per event in a write.
    let vectors: UnsafeMutablePointer<iovec>
    static let maxVectors = 512
    /// Every connection on the loop reads into this, so an idle connection
    /// holds no input buffer of its own.
    let readBuffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 * 1024, alignment: 16)
    var delivered: UInt64 = 0
    /// The responder chain, between routing and the handlers.
    private(set) var steps: [RequestStep] = []
    private var stopping = false
    /// Called once every connection is closed after `beginShutdown`.
    var onDrained: (() -> Void)?

    init(loop: EventLoop, group: DeliveryGroup, server: ServerContext) {
        self.loop = loop
        self.group = group
        self.server = server
        vectors = .allocate(capacity: Self.maxVectors)
        reserveFD = open("/dev/null", O_RDONLY | O_CLOEXEC)
        loop.onWake = { [unowned self] in self.deliver() }
        loop.beforeSleep = { [unowned self] in self.flushPending() }
        loop.onTick = { [unowned self] now in self.tick(now) }
        group.setWake { [loop] in loop.wake() }
        steps = server.makeSteps(for: self)
    }

    deinit {
        vectors.deallocate()
        readBuffer.deallocate()
        if reserveFD >= 0 { close(reserveFD) }
    }

    // MARK: - accepting

    func listen(on fd: Int32) throws(SystemError) {
        listenerFD = fd
        try watchListener()
    }

    private func watchListener() throws(SystemError) {
        // EPOLLEXCLUSIVE: one loop is woken per new connection, not all of them.
        try loop.add(listenerFD, events: EPOLLIN.rawValue | EPOLLEXCLUSIVE.rawValue, handler: self)
    }

    /// The listener is readable: accept what is waiting (a bounded batch, to stay fair).
    func handleEvents(_ events: UInt32) {
        for _ in 0..<64 {
            switch acceptConnection(listenerFD) {
            case .processed(let fd):
                acceptBackoff = 0
                adopt(Int32(fd))
            case .wouldBlock, .endOfFile:
                return
            case .failed(let error) where error == EMFILE || error == ENFILE:
                if !refuseForLackOfDescriptors() { pauseAccepting() }
                return
            case .failed(let error):
                server.logger.warning("accept: \(SystemError("accept", errno: error).description)")
                return
            }
        }
    }

    private func adopt(_ fd: Int32) {
        // Events are small and written as they come: Nagle would hold each one
        // back until the previous one is acknowledged.
        Socket.setNoDelay(fd)
        let count = server.metrics.connections.add(1, ordering: .relaxed).newValue
        let connection = Connection(fd: fd, context: self, overCapacity: count > server.configuration.maxClients)
        connection.slot = connections.count
        if server.accessLog != nil { connection.accessEntry = AccessLog.Entry(client: AccessLog.peerAddress(fd)) }
        connections.append(connection)
        do {
            try loop.add(fd, events: EPOLLIN.rawValue | EPOLLRDHUP.rawValue, handler: connection)
        } catch {
            server.logger.warning("\(error)")
            connection.close()
        }
    }

    /// Frees the reserve descriptor to accept one waiting connection and answer
    /// it 503. False when that made no room (no reserve to free, or accept
    /// still failed): the listener stays readable, so it must be paused.
    private func refuseForLackOfDescriptors() -> Bool {
        let now = loop.now
        if now - lastDescriptorWarning > 5_000_000_000 {
            lastDescriptorWarning = now
            server.logger.warning("out of file descriptors: refusing connections with 503 (raise the open-file limit or lower --max-clients)")
        }
        guard reserveFD >= 0 else {
            // Lost at an earlier refusal (another thread took the freed slot): try again.
            reserveFD = open("/dev/null", O_RDONLY | O_CLOEXEC)
            return false
        }
        close(reserveFD)
        let made: Bool
        switch acceptConnection(listenerFD) {
        case .processed(let fd):
            let answer = Response(status: 503, headers: [("Retry-After", "5")]).serialized(keepAlive: false)
            _ = answer.withUnsafeBytes { Socket.write(Int32(fd), $0) }
            Socket.close(Int32(fd))
            server.metrics.rejectedConnections.add(1, ordering: .relaxed)
            made = true
        case .wouldBlock, .endOfFile:
            made = true  // another loop took it: nothing is waiting
        case .failed:
            made = false
        }
        reserveFD = open("/dev/null", O_RDONLY | O_CLOEXEC)
        return made && reserveFD >= 0
    }

    /// Takes the listener off epoll for a while rather than being woken for it
    /// again at once (level-triggered, it stays readable while the process is
    /// out of descriptors): 100 ms, doubling up to 1 s while it keeps failing.
    /// Connections wait in the kernel's backlog meanwhile.
    private func pauseAccepting() {
        guard !acceptPaused, listenerFD >= 0 else { return }
        loop.remove(listenerFD)
        acceptPaused = true
        acceptBackoff = acceptBackoff == 0 ? 100_000_000 : min(acceptBackoff * 2, 1_000_000_000)
        loop.schedule(after: acceptBackoff) { [weak self] in self?.resumeAccepting() }
    }

    private func resumeAccepting() {
        guard acceptPaused else { return }
        acceptPaused = false
        // Stopped meanwhile: the listener is no longer this loop's to watch.
        guard listenerFD >= 0 else { return }
        do {
            try watchListener()
        } catch {
            server.logger.warning("\(error)")
            pauseAccepting()
        }
    }

    // MARK: - connections

    func remove(_ connection: Connection) {
        let slot = connection.slot
        guard slot >= 0, slot < connections.count, connections[slot] === connection else { return }
        let last = connections.removeLast()
        if slot < connections.count {
            connections[slot] = last
            last.slot = slot
        }
        connection.slot = -1
        server.metrics.connections.subtract(1, ordering: .relaxed)
        if stopping && connections.isEmpty { onDrained?() }
    }

    func subscribe(_ connection: Connection, window: ChannelWindow) -> Int {
        let key = ObjectIdentifier(window)
        let list = subscribers[key] ?? SubscriberList()
        subscribers[key] = list
        list.connections.append(connection)
        return list.connections.count - 1
    }

    /// Takes `connection` off `window`'s list; the last subscriber moves into its slot.
    func unsubscribe(_ connection: Connection, window: ChannelWindow, slot: Int) {
        let key = ObjectIdentifier(window)
        guard let list = subscribers[key], slot < list.connections.count, list.connections[slot] === connection else { return }
        let last = list.connections.removeLast()
        if slot < list.connections.count {
            list.connections[slot] = last
            last.stream?.moveSlot(for: window, to: slot)
        }
        if list.connections.isEmpty { subscribers[key] = nil }
        server.hub.unsubscribe(group, from: window)
    }

    func markPending(_ connection: Connection) {
        guard !connection.isPending, !connection.isClosed else { return }
        connection.isPending = true
        pending.append(connection)
    }

    // MARK: - the delivery pass

    /// New events on channels this loop watches: every subscriber of those
    /// windows has something to write.
    func deliver() {
        markSubscribers(of: server.hub.sync(group))
    }

    /// The windows received events: each subscriber that can write has something to write.
    func markSubscribers(of updated: [ChannelWindow]) {
        for window in updated {
            touchedWindows.append(window)
            guard let list = subscribers[ObjectIdentifier(window)] else { continue }
            for connection in list.connections {
                if !connection.isWriteBlocked {
                    markPending(connection)
                } else if connection.stream?.hasFallenBehind == true {
                    // It has not taken its bytes for as long as the buffer
                    // reaches back: cut it off now rather than when it next reads.
                    connection.dropSlowSubscriber()
                }
            }
        }
    }

    /// Writes to every pending connection in one pass, then lets windows forget
    /// what everyone has sent.
    func flushPending() {
        while !pending.isEmpty {
            swap(&pending, &flushing)
            for connection in flushing {
                connection.isPending = false
                connection.flush()
            }
            flushing.removeAll(keepingCapacity: true)
        }
        if !touchedWindows.isEmpty {
            for window in touchedWindows where window.end - window.start >= 64 && window.end - window.trimCheckedAt >= 32 {
                window.trimCheckedAt = window.end
                trim(window)
            }
            touchedWindows.removeAll(keepingCapacity: true)
        }
        if delivered > 0 {
            server.metrics.delivered[group.index].value.add(delivered, ordering: .relaxed)
            delivered = 0
        }
    }

    private func trim(_ window: ChannelWindow) {
        guard let list = subscribers[ObjectIdentifier(window)] else { return }
        var oldest = window.end
        for connection in list.connections {
            if let cursor = connection.stream?.cursor(for: window), cursor < oldest { oldest = cursor }
        }
        window.trim(upTo: oldest)
    }

    // MARK: - timers

    private func tick(_ now: UInt64) {
        let headerTimeout = UInt64(server.configuration.headerTimeoutSeconds * 1e9)
        let heartbeat = UInt64(server.configuration.heartbeatSeconds * 1e9)
        let bodyTimeout = UInt64(server.configuration.bodyTimeoutSeconds * 1e9)
        // One loop times the presence leave grace for all.
        if group.index == 0 { server.presence?.registry.tick(now: now) }
        var index = 0
        while index < connections.count {
            let connection = connections[index]
            connection.tick(now: now, headerTimeout: headerTimeout, heartbeat: heartbeat, bodyTimeout: bodyTimeout)
            // A connection that closed itself was swapped out of this slot.
            if index < connections.count && connections[index] === connection { index += 1 }
        }
    }

    // MARK: - shutdown

    /// Stops accepting, hands every accepted event to its streams, then ends
    /// each stream with its final chunk and closes idle connections.
    func beginShutdown() {
        stopAccepting()
        stopping = true
        deliver()
        for connection in connections { connection.finish() }
        if connections.isEmpty { onDrained?() }
    }

    /// Takes the listener off this loop: no new connections.
    func stopAccepting() {
        if listenerFD >= 0 {
            loop.remove(listenerFD)
            listenerFD = -1
        }
    }

    /// Ends every stream on this loop cleanly (its final chunk), so that its
    /// client reconnects with its Last-Event-ID and replays, learning of any
    /// loss from an `sse-gap`.
    func endStreams() {
        for connection in connections { connection.endStream() }
    }

    /// Closes whatever is still open (the grace period is over).
    func closeAll() {
        while let connection = connections.last { connection.close(reason: .shutdown) }
    }
}
