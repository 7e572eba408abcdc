/// Where the parts of an encoded event lie in its bytes.
public struct WireEventLayout: Sendable {
    public let id: EventID
    public let count: Int
    public let bodyOffset: Int
    public let bodyCount: Int
}

/// An event encoded once into its bytes on the wire, shared by every subscriber.
///
/// The bytes are one HTTP/1.1 chunk: `SIZE\r\n` + the event-stream block + `\r\n`,
/// so a chunked stream writes them as they are and an HTTP/1.0 stream (or a gzip
/// encoder) takes only the block in `body`. Header and bytes are one allocation.
///
/// Not `Sendable`: `ManagedBuffer` makes that unavailable to every subclass.
/// An event is immutable once made, and crosses threads only inside the logs
/// and windows that hold it, which are guarded by the hub's lock or owned by one loop.
public final class WireEvent: ManagedBuffer<WireEventLayout, UInt8> {
    static func make(
        id: EventID, capacity: Int,
        fill: (UnsafeMutableRawBufferPointer) -> (bodyOffset: Int, bodyCount: Int, total: Int)
    ) -> WireEvent {
        let buffer = WireEvent.create(minimumCapacity: capacity) { _ in
            WireEventLayout(id: id, count: 0, bodyOffset: 0, bodyCount: 0)
        }
        let event = unsafeDowncast(buffer, to: WireEvent.self)
        event.withUnsafeMutablePointers { header, elements in
            let layout = fill(UnsafeMutableRawBufferPointer(start: elements, count: capacity))
            header.pointee = WireEventLayout(id: id, count: layout.total, bodyOffset: layout.bodyOffset, bodyCount: layout.bodyCount)
        }
        return event
    }

    public var id: EventID { header.id }

    /// The whole chunk. Valid while the event is alive.
    public var bytes: UnsafeRawBufferPointer {
        withUnsafeMutablePointers { header, elements in UnsafeRawBufferPointer(start: elements, count: header.pointee.count) }
    }

    /// The event-stream block alone.
    public var body: UnsafeRawBufferPointer {
        withUnsafeMutablePointers { header, elements in
            UnsafeRawBufferPointer(start: elements + header.pointee.bodyOffset, count: header.pointee.bodyCount)
        }
    }

    public var bodyOffset: Int { header.bodyOffset }
    public var bodyCount: Int { header.bodyCount }

    /// The block as text, for tests and logs.
    public var bodyString: String { String(decoding: body, as: UTF8.self) }
}
