/*
 * exchange.h - one message out and its echo back, reading while writing.
 *
 * A client that sends a whole message before it reads deadlocks on any
 * echo server once the message is bigger than what the socket buffers on
 * both sides hold (a few MiB on loopback): the server blocks sending the
 * echo nobody reads, so it stops reading, so the client blocks sending.
 * So both versions read whatever has come back while they still have
 * something to send, as a real client must:
 *
 *   thread_exchange    poll() for "readable or writable" on the socket
 *   greenlet_exchange  send what goes at once; if some is left, a second
 *                      greenlet sends it while this one reads (gevent's
 *                      way: one greenlet per direction)
 *
 * --timeout is for the whole message, from its first byte sent to its
 * last byte echoed, in both. Both return 0, or -1 after client_error()
 * has said why (nothing is said when a signal stopped the run).
 */
#ifndef LOAD_EXCHANGE_H
#define LOAD_EXCHANGE_H

#include <poll.h>
#include <stddef.h>

#include "greenlet.h"

struct client;

/* t0: cl_now() as the message starts (the caller has read the clock for
 * its latency already; the deadline is t0 + --timeout). */
int thread_exchange(int fd, struct client *c, size_t len, double t0);
int greenlet_exchange(int fd, struct client *c, size_t len, double t0,
                      enum greenlet_stack_kind stacks);

/* After the last echo: shut down our side (SHUT_WR) and read until the
 * server closes its own (at most --timeout): bytes that come are more
 * than was sent, and count as a mismatch. */
void thread_finish(int fd, struct client *c);
void greenlet_finish(int fd, struct client *c);

/* poll() until `deadline` (cl_now() seconds), through EINTR. */
int poll_until(struct pollfd *p, nfds_t n, double deadline);

#endif
