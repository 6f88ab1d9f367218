// The Linux system headers Swift's Glibc module leaves out (epoll, signalfd) and accept4, which
// <sys/socket.h> declares only under _GNU_SOURCE. Declarations only; no code.
#pragma once
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>

extern int accept4(int fd, struct sockaddr *addr, socklen_t *addr_len, int flags);
