// The Linux interfaces the proxy's own event loop uses that Swift's Glibc module leaves out: epoll, eventfd,
// accept4 and pthread_setname_np (declared only under _GNU_SOURCE).
#pragma once
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <pthread.h>

extern int accept4(int fd, struct sockaddr *addr, socklen_t *addr_len, int flags);
extern int pthread_setname_np(pthread_t thread, const char *name);

/// Names the calling thread (at most 15 bytes are kept), for `top -H`, `ps -L` and profilers.
static inline void cdirectio_name_this_thread(const char *name) {
    (void)pthread_setname_np(pthread_self(), name);
}

/// sendmsg over an iovec array without SIGPIPE (MSG_NOSIGNAL): a peer that went away is an EPIPE, not a signal.
static inline long cdirectio_writev_nosignal(int fd, const struct iovec *iov, int count) {
    struct msghdr message = {0};
    message.msg_iov = (struct iovec *)iov;
    message.msg_iovlen = (size_t)count;
    return (long)sendmsg(fd, &message, MSG_NOSIGNAL);
}
