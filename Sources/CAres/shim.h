#ifndef SWITCHYARD_CARES_SHIM_H
#define SWITCHYARD_CARES_SHIM_H
#include <ares.h>
#include <ares_version.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <netdb.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/time.h>
#include <unistd.h>
#endif
