#ifndef SWITCHYARD_FDPASSING_H
#define SWITCHYARD_FDPASSING_H
#include <stddef.h>
#include <sys/types.h>

/// Sends `length` bytes of `data` with `count` file descriptors attached (SCM_RIGHTS) over the connected
/// Unix stream socket `sock`. Returns the bytes sent, or -1 with errno set.
ssize_t switchyard_send_fds(int sock, const void *data, size_t length, const int *fds, int count);

/// Receives up to `capacity` bytes into `data` and up to `max_fds` descriptors into `fds` (set to
/// close-on-exec); `*received_fds` is how many arrived. Returns the bytes received (0 at end of stream),
/// or -1 with errno set. Descriptors beyond `max_fds` are closed, and the call fails with EMSGSIZE.
ssize_t switchyard_recv_fds(int sock, void *data, size_t capacity, int *fds, int max_fds, int *received_fds);

/// The user id of the process at the other end of the Unix socket `sock` (SO_PEERCRED); -1 with errno on failure.
int switchyard_peer_uid(int sock, uid_t *uid);

/// accept4 with close-on-exec, retried on EINTR.
int switchyard_accept(int sock);

#endif
