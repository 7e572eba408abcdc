/// The stream connections on one loop that read one channel window, with O(1)
/// removal: each connection remembers its slot.
final class SubscriberList {
    var connections: [Connection] = []
}
