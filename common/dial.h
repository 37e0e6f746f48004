/*
 * dial.h - the one connect loop: "try each address of a name in turn,
 * each with a fresh socket, until one connects or the time is up".
 *
 * Resolving is the caller's (glibc's getaddrinfo in blocking code,
 * hub_getaddrinfo in cosock_connect) and so is waiting for the handshake:
 * wait_writable(fd, seconds) blocks until fd is writable, as poll() does
 * in plain code and hub_wait_fd does in a greenlet. Everything between is
 * here once. A socket that fails is closed here, after hub_fd_forget
 * (a no-op unless the wait was hub_wait_fd).
 */
#ifndef CL_DIAL_H
#define CL_DIAL_H

#include <netdb.h>

/* Wait until fd is writable, at most `seconds` (< 0: no limit). 0, or -1
 * with errno (ETIMEDOUT when the time passed). */
typedef int dial_wait_fn(int fd, double seconds);

/* Connect a new non-blocking, close-on-exec socket to the first address
 * of res that accepts, before `deadline` (a cl_now() time; < 0: none).
 * Returns the fd (still non-blocking), or -1 with errno: the last
 * address's error, or ETIMEDOUT (deadline) or ECANCELED (wait said the
 * caller was killed), which end the loop at once. */
int dial_addrinfo(const struct addrinfo *res, double deadline, dial_wait_fn *wait_writable);

#endif
