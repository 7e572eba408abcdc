/// One subscriber stream's state, kept inline in a worker's table: its socket, where it is in the
/// response, its decoders, and how many of the bench's events it has received.
struct SubscriberConnection {
    /// Where a subscriber is in its life.
    enum Phase: UInt8 { case notOpened, connecting, awaitingHead, streaming, ended, failed }

    var fd: Int32 = -1
    var phase = Phase.notOpened
    var reader = ResponseReader()
    var parser = EventParser()
    var received: Int64 = 0
    var lastSeq: Int64 = 0
    var complete = false
}
