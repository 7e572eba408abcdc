// The Linux and zlib declarations that Swift's Glibc module does not export.
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <zlib.h>

// zlib's deflateInit2 and inflateInit2 are macros, which Swift cannot call.
static inline int shim_deflateInit2(z_streamp strm, int level, int windowBits, int memLevel) {
    return deflateInit2(strm, level, Z_DEFLATED, windowBits, memLevel, Z_DEFAULT_STRATEGY);
}
static inline int shim_inflateInit2(z_streamp strm, int windowBits) {
    return inflateInit2(strm, windowBits);
}

// accept4 is a GNU extension that Glibc's module leaves out.
#include <sys/socket.h>
extern int accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags);
static inline int shim_accept4(int fd, int flags) {
    return accept4(fd, (struct sockaddr *)0, (socklen_t *)0, flags);
}
