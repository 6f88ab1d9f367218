// The Linux interfaces the proxy's own event loop uses that Swift's Glibc module leaves out: epoll, eventfd,
// and accept4 (declared by <sys/socket.h> only under _GNU_SOURCE).
#pragma once
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/uio.h>

extern int accept4(int fd, struct sockaddr *addr, socklen_t *addr_len, int flags);

/// sendmsg over an iovec array without SIGPIPE (MSG_NOSIGNAL): a peer that went away is an EPIPE, not a signal.
static inline long cdirectio_writev_nosignal(int fd, const struct iovec *iov, int count) {
    struct msghdr message = {0};
    message.msg_iov = (struct iovec *)iov;
    message.msg_iovlen = (size_t)count;
    return (long)sendmsg(fd, &message, MSG_NOSIGNAL);
}
