/*
 * cosock.h - layer 4: cooperative sockets, gevent.socket in C.
 *
 * Plain file descriptors, always non-blocking, whose accept, connect, recv
 * and send look blocking to the greenlet that calls them: each call first
 * tries the system call, and only when it meets EAGAIN waits on the hub
 * (hub_wait_fd), which runs other greenlets until the socket is ready.
 * Under epoll a call that emptied the socket (EAGAIN, or a short read)
 * is remembered (hub_fd_drained), and the next one waits for the next
 * edge first: an echo costs a recv and a send, as a hand-written epoll
 * loop does (epoll_wait is shared by every socket the hub watches; no
 * epoll_ctl per call).
 *
 *   Python (gevent.socket)                 C
 *   s = socket.socket(); s.bind(); s.listen()  cosock_listen(host, port, backlog)
 *   conn, addr = s.accept()                    cosock_accept(s, &addr, timeout)
 *   s = socket.create_connection((h, p), t)    cosock_connect(h, p, t)
 *   s.recv(n)                                  cosock_recv(s, buf, n, timeout)
 *   s.send(data), s.sendall(data)              cosock_send(...), cosock_sendall(...)
 *   s.shutdown(socket.SHUT_WR); s.close()      cosock_shutdown(s, SHUT_WR); cosock_close(s)
 *
 * Errors come back as -1 with errno set, never as an abort; cosock_strerror
 * words them (the hub's own: ETIMEDOUT for a timeout, ECANCELED for a
 * greenlet killed while it waited, EBUSY when another greenlet already
 * waits on the same socket in the same direction: gevent refuses that too).
 * Timeouts are in seconds per call; HUB_FOREVER (-1) waits forever, 0 means
 * "only if it can be done now". SIGPIPE is never raised (MSG_NOSIGNAL).
 *
 * The calls may be made from hub tasks and from a thread's main greenlet
 * (which then blocks on that thread's hub), not from event callbacks.
 */
#ifndef CL_COSOCK_H
#define CL_COSOCK_H

#include <stddef.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "hub.h"

/* An address, printable with cosock_addr_str. */
typedef struct cosock_addr {
    struct sockaddr_storage ss;
    socklen_t len;
} cosock_addr;

/* A listening TCP socket on host:port (host NULL: every address; port 0:
 * a free port, see cosock_local_port), SO_REUSEADDR set. backlog <= 0
 * means SOMAXCONN. */
int cosock_listen(const char *host, int port, int backlog);
/* The same with SO_REUSEPORT: several processes (or threads, each with its
 * hub) listen on one port, and the kernel spreads new connections among
 * them (lesson 06 --workers). Every socket of the group must be made so. */
int cosock_listen_shared(const char *host, int port, int backlog);

/* The next connection, as a non-blocking socket. addr may be NULL.
 * EMFILE/ENFILE (out of descriptors) come back as they are: back off
 * before trying again, the pending connection stays queued. */
int cosock_accept(int lfd, cosock_addr *addr, double timeout);

/* A connected TCP socket to host:port, trying each address of host in
 * turn, within `timeout` in all, resolving the name included (on the hub:
 * hub_getaddrinfo, resolve.h). TCP_NODELAY is set (a load client wants
 * every small message on the wire at once). */
int cosock_connect(const char *host, int port, double timeout);

/* Make an existing socket cooperative (sets O_NONBLOCK). */
int cosock_wrap(int fd);

/* Up to len bytes: > 0 bytes read, 0 at end of file, -1 on error. */
ssize_t cosock_recv(int fd, void *buf, size_t len, double timeout);
/* Exactly len bytes, unless end of file comes first: returns how many.
 * It asks for exactly what is missing, so its last read is never short
 * and cannot tell the hub the socket is drained: the next read makes the
 * recv that only says EAGAIN. A loop that reads a message after another
 * saves that call by offering cosock_recv more room than it needs and
 * keeping what comes past the message (07's exchange.c does). */
ssize_t cosock_recv_exact(int fd, void *buf, size_t len, double timeout);
/* Some of buf (at least one byte), waiting until some can be sent. */
ssize_t cosock_send(int fd, const void *buf, size_t len, double timeout);
/* All of buf, or -1 (timeout: for the whole of it). When the peer stops
 * reading this waits, which is the backpressure a server needs: memory
 * stays what the kernel's socket buffers hold. */
int cosock_sendall(int fd, const void *buf, size_t len, double timeout);

int cosock_shutdown(int fd, int how);
/* Wake anyone waiting on fd (with EBADF), forget it, close it. */
int cosock_close(int fd);

/* Port of the local end (for a listener on port 0), or -1. */
int cosock_local_port(int fd);
/* "127.0.0.1:8001", "[::1]:8001" into buf; returns buf. */
const char *cosock_addr_str(const cosock_addr *a, char *buf, size_t len);
/* errno in words: the hub's meanings first, then strerror. */
const char *cosock_strerror(int err);

#endif
