/// The connections of one host:port: idle ones ready for reuse (most recently
/// used last), how many are open in all, and the requests waiting for one.
final class HostPool {
    let key: HostKey
    var idle: [PooledConnection] = []
    /// Connecting, busy and idle connections together.
    var open = 0
    /// Requests waiting for a connection because `open` is at the limit, oldest first.
    var waiting: [Exchange] = []

    init(key: HostKey) { self.key = key }

    func removeIdle(_ connection: PooledConnection) {
        if let index = idle.firstIndex(where: { $0 === connection }) { idle.remove(at: index) }
    }

    func removeWaiting(_ exchange: Exchange) {
        if let index = waiting.firstIndex(where: { $0 === exchange }) { waiting.remove(at: index) }
    }
}
