#define _GNU_SOURCE
#include "fdpassing.h"
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#define SWITCHYARD_MAX_FDS 64

ssize_t switchyard_send_fds(int sock, const void *data, size_t length, const int *fds, int count) {
    if (count < 0 || count > SWITCHYARD_MAX_FDS || length == 0) {
        errno = EINVAL;
        return -1;
    }
    struct iovec iov = { .iov_base = (void *)data, .iov_len = length };
    union {
        char buffer[CMSG_SPACE(sizeof(int) * SWITCHYARD_MAX_FDS)];
        struct cmsghdr align;
    } control;
    memset(&control, 0, sizeof(control));
    struct msghdr message = { .msg_iov = &iov, .msg_iovlen = 1 };
    if (count > 0) {
        message.msg_control = control.buffer;
        message.msg_controllen = CMSG_SPACE(sizeof(int) * count);
        struct cmsghdr *header = CMSG_FIRSTHDR(&message);
        header->cmsg_level = SOL_SOCKET;
        header->cmsg_type = SCM_RIGHTS;
        header->cmsg_len = CMSG_LEN(sizeof(int) * count);
        memcpy(CMSG_DATA(header), fds, sizeof(int) * count);
    }
    ssize_t sent;
    do {
        sent = sendmsg(sock, &message, MSG_NOSIGNAL);
    } while (sent < 0 && errno == EINTR);
    return sent;
}

ssize_t switchyard_recv_fds(int sock, void *data, size_t capacity, int *fds, int max_fds, int *received_fds) {
    *received_fds = 0;
    if (max_fds < 0 || max_fds > SWITCHYARD_MAX_FDS) {
        errno = EINVAL;
        return -1;
    }
    struct iovec iov = { .iov_base = data, .iov_len = capacity };
    union {
        char buffer[CMSG_SPACE(sizeof(int) * SWITCHYARD_MAX_FDS)];
        struct cmsghdr align;
    } control;
    memset(&control, 0, sizeof(control));
    struct msghdr message = { .msg_iov = &iov, .msg_iovlen = 1,
                              .msg_control = control.buffer, .msg_controllen = sizeof(control.buffer) };
    ssize_t received;
    do {
        received = recvmsg(sock, &message, MSG_CMSG_CLOEXEC);
    } while (received < 0 && errno == EINTR);
    if (received < 0) return -1;
    int overflow = 0;
    for (struct cmsghdr *header = CMSG_FIRSTHDR(&message); header != NULL; header = CMSG_NXTHDR(&message, header)) {
        if (header->cmsg_level != SOL_SOCKET || header->cmsg_type != SCM_RIGHTS) continue;
        size_t n = (header->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        int *incoming = (int *)CMSG_DATA(header);
        for (size_t i = 0; i < n; i++) {
            int fd;
            memcpy(&fd, incoming + i, sizeof(int));
            if (*received_fds < max_fds) {
                fds[(*received_fds)++] = fd;
            } else {
                close(fd);
                overflow = 1;
            }
        }
    }
    if (overflow || (message.msg_flags & MSG_CTRUNC)) {
        for (int i = 0; i < *received_fds; i++) close(fds[i]);
        *received_fds = 0;
        errno = EMSGSIZE;
        return -1;
    }
    return received;
}

int switchyard_peer_uid(int sock, uid_t *uid) {
    struct ucred credentials;
    socklen_t size = sizeof(credentials);
    if (getsockopt(sock, SOL_SOCKET, SO_PEERCRED, &credentials, &size) != 0) return -1;
    *uid = credentials.uid;
    return 0;
}

int switchyard_accept(int sock) {
    int fd;
    do {
        fd = accept4(sock, NULL, NULL, SOCK_CLOEXEC);
    } while (fd < 0 && errno == EINTR);
    return fd;
}
