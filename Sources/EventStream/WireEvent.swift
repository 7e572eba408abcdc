/// Where the parts of an encoded event lie in its bytes.
public struct WireEventLayout: Sendable {
    public let id: EventID
    /// The event's type, for streams that ask for some types only (`?event=`).
    public let type: String
    public internal(set) var count: Int
    public internal(set) var bodyOffset: Int
    public internal(set) var bodyCount: Int
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
        id: EventID, type: String, capacity: Int,
        fill: (UnsafeMutableRawBufferPointer) -> (bodyOffset: Int, bodyCount: Int, total: Int)
    ) -> WireEvent {
        let buffer = WireEvent.create(minimumCapacity: capacity) { _ in
            WireEventLayout(id: id, type: type, count: 0, bodyOffset: 0, bodyCount: 0)
        }
        let event = unsafeDowncast(buffer, to: WireEvent.self)
        event.withUnsafeMutablePointers { header, elements in
            let layout = fill(UnsafeMutableRawBufferPointer(start: elements, count: capacity))
            // Field by field: assigning a whole new layout would retain the type again.
            header.pointee.count = layout.total
            header.pointee.bodyOffset = layout.bodyOffset
            header.pointee.bodyCount = layout.bodyCount
        }
        return event
    }

    // Read through the pointer: `header` is a class property, and each access to it
    // would cost a dynamic exclusivity check (~90 instructions) per event and reader.
    public var id: EventID { withUnsafeMutablePointerToHeader { $0.pointee.id } }
    public var type: String { withUnsafeMutablePointerToHeader { $0.pointee.type } }

    /// The data again, read back from the block's `data:` lines (joined with
    /// LF), for answers that are not event streams (`?poll=`).
    public var data: String {
        var lines: [Substring] = []
        for line in bodyString.split(separator: "\n", omittingEmptySubsequences: false) where line.hasPrefix("data: ") {
            lines.append(line.dropFirst(6))
        }
        return lines.joined(separator: "\n")
    }

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
