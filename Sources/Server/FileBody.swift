import Glibc

/// The body of a large static file, sent to a socket in bounded pieces as the
/// socket takes them (`sendfile`, so the bytes never pass through the loop's
/// memory), instead of being read whole on the loop. Owns the open file.
final class FileBody {
    /// Bytes asked of the kernel in one call.
    static let pieceSize = 64 * 1024
    /// Bytes sent in one turn of the loop before the other connections get theirs.
    static let turnBudget = 1 << 20

    private let fd: Int32
    private var offset: off_t = 0
    private(set) var remaining: Int

    /// Takes ownership of `fd`, an open regular file of `size` bytes.
    init(fd: Int32, size: Int) {
        self.fd = fd
        remaining = size
    }

    deinit { Glibc.close(fd) }

    enum Outcome {
        /// All of it is out.
        case done
        /// The socket is full: go on when it is writable.
        case blocked
        /// This turn's budget is spent: go on at the next turn.
        case yielded
        /// The file shrank since it was answered, or the socket failed.
        case failed
    }

    /// Sends the next pieces to `socket`, at most `turnBudget` bytes; `sent`
    /// grows by the bytes the socket took.
    func send(to socket: Int32, sent: inout Int) -> Outcome {
        var turn = 0
        while remaining > 0 {
            if turn >= Self.turnBudget { return .yielded }
            let n = sendfile(socket, fd, &offset, min(remaining, Self.pieceSize))
            if n > 0 {
                remaining -= n
                turn += n
                sent += n
                continue
            }
            if n == 0 { return .failed }
            switch errno {
            case EINTR: continue
            case EAGAIN, EWOULDBLOCK: return .blocked
            default: return .failed
            }
        }
        return .done
    }
}
