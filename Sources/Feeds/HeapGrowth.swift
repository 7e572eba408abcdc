import CShim
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
///
/// The blocks' pages are also faulted in, all of a block in one `madvise`
/// (`MADV_POPULATE_WRITE`), rather than one page fault per 4 KiB as the events
/// are written: S5 took 59,000 page faults for a million events, 7,000 this
/// way, and the server's CPU fell by a fifth. That holds only if glibc keeps
/// the freed blocks' pages: it gives a freed heap top larger than its trim
/// threshold (128 KiB) back with `MADV_DONTNEED`, so the threshold is raised
/// to 8 MiB, above the most a batch takes here (3 MiB), the first time a
/// batch this large comes. (That also fixes glibc's mmap threshold at its
/// default, 128 KiB.) Kernels before 5.14 refuse the advice: then the pages
/// are faulted in as before.
enum HeapGrowth {
    static let block = 96 * 1024
    static let maxBlocks = 32
    static let trimThreshold: Int32 = 8 << 20

    private static let keepFreedTop: Void = { _ = mallopt(M_TRIM_THRESHOLD, trimThreshold) }()

    /// Before encoding about `bytes` bytes of events on this thread.
    static func prepare(bytes: Int) {
        guard bytes >= block / 4 else { return }
        _ = keepFreedTop
        let count = min((bytes + block - 1) / block, maxBlocks)
        withUnsafeTemporaryAllocation(of: UnsafeMutableRawPointer?.self, capacity: count) { blocks in
            for i in 0..<count {
                blocks[i] = malloc(block)
                populate(blocks[i])
            }
            for i in (0..<count).reversed() { free(blocks[i]) }
        }
    }

    /// Faults in the whole pages of a block.
    private static func populate(_ block: UnsafeMutableRawPointer?) {
        guard let block else { return }
        let page = Int(getpagesize())
        let start = (Int(bitPattern: block) + page - 1) & ~(page - 1)
        let end = (Int(bitPattern: block) + Self.block) & ~(page - 1)
        guard end > start, let first = UnsafeMutableRawPointer(bitPattern: start) else { return }
        _ = madvise(first, end - start, MADV_POPULATE_WRITE)
    }
}
