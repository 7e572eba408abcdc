import Glibc

/// Lets the calling thread's malloc heap grow in big steps before a batch of
/// events is encoded on it.
///
/// glibc extends a thread's heap (not the main one) by exactly what the next
/// allocation needs, a page at a time, with one `mprotect` each: a source
/// that encodes a million ~200-byte events into a channel kept whole (S5,
/// `--buffer 1000000`) made 50,000 `mprotect` calls, about a fifth of the
/// server's CPU in `perf`. Taking blocks about the size of the batch and giving
/// them straight back makes the heap grow a few times per batch instead (3,000
/// calls for S5): glibc keeps the heap's accessible size at its high-water mark
/// even when it trims the freed top, so the events are then carved out of it
/// without a system call. Each block stays below glibc's mmap threshold
/// (128 KiB) so that it comes from the heap. With another allocator, or once
/// the channel's buffer is full and memory is reused, it is a few malloc/free
/// pairs per read.
enum HeapGrowth {
    static let block = 96 * 1024
    static let maxBlocks = 32

    /// Before encoding about `bytes` bytes of events on this thread.
    static func prepare(bytes: Int) {
        guard bytes >= block / 4 else { return }
        let count = min((bytes + block - 1) / block, maxBlocks)
        withUnsafeTemporaryAllocation(of: UnsafeMutableRawPointer?.self, capacity: count) { blocks in
            for i in 0..<count { blocks[i] = malloc(block) }
            for i in (0..<count).reversed() { free(blocks[i]) }
        }
    }
}
