import Glibc

/// A growable byte queue for one connection's input or output: append at the
/// back, consume from the front, no copying until it compacts.
final class ByteBuffer {
    private var storage: UnsafeMutableRawPointer
    private(set) var capacity: Int
    private var readIndex = 0
    private var writeIndex = 0

    init(capacity: Int = 0) {
        self.capacity = capacity
        storage = capacity > 0 ? UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 16) : ByteBuffer.empty
    }

    deinit {
        if capacity > 0 { storage.deallocate() }
    }

    var count: Int { writeIndex - readIndex }
    var isEmpty: Bool { readIndex == writeIndex }

    var readable: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: storage + readIndex, count: writeIndex - readIndex)
    }

    func append(_ bytes: UnsafeRawBufferPointer) {
        guard bytes.count > 0 else { return }
        reserve(bytes.count)
        (storage + writeIndex).copyMemory(from: bytes.baseAddress!, byteCount: bytes.count)
        writeIndex += bytes.count
    }

    func append(_ bytes: [UInt8]) { bytes.withUnsafeBytes { append($0) } }

    /// Drops `n` bytes from the front. The bytes stay in place (a view taken
    /// before stays valid) until the next append.
    func consume(_ n: Int) {
        precondition(n >= 0 && n <= writeIndex - readIndex, "consumed more than the buffer holds")
        readIndex += n
        if readIndex == writeIndex {
            readIndex = 0
            writeIndex = 0
        }
    }

    func clear() {
        readIndex = 0
        writeIndex = 0
    }

    /// Gives memory back after a large burst, so idle connections stay small.
    func shrinkIfIdle(limit: Int = 64 * 1024) {
        guard isEmpty, capacity > limit else { return }
        release()
    }

    /// Frees the storage when nothing is buffered (an idle connection holds none).
    func releaseIfEmpty() {
        guard isEmpty, capacity > 0 else { return }
        release()
    }

    private func release() {
        storage.deallocate()
        capacity = 0
        storage = ByteBuffer.empty
        readIndex = 0
        writeIndex = 0
    }

    /// Shared zero-capacity storage, so an empty buffer allocates nothing.
    nonisolated(unsafe) private static let empty = UnsafeMutableRawPointer.allocate(byteCount: 1, alignment: 16)

    private func reserve(_ extra: Int) {
        if capacity - writeIndex >= extra { return }
        let live = writeIndex - readIndex
        if readIndex > 0 && capacity - live >= extra && live <= capacity / 2 {
            // Compact: move the live bytes to the front.
            storage.copyMemory(from: storage + readIndex, byteCount: live)
        } else {
            var newCapacity = max(capacity, 512)
            while newCapacity - live < extra { newCapacity *= 2 }
            let bigger = UnsafeMutableRawPointer.allocate(byteCount: newCapacity, alignment: 16)
            if live > 0 { bigger.copyMemory(from: storage + readIndex, byteCount: live) }
            if capacity > 0 { storage.deallocate() }
            storage = bigger
            capacity = newCapacity
        }
        readIndex = 0
        writeIndex = live
    }
}
