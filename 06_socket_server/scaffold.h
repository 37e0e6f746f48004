/*
 * scaffold.h - what lesson 06 needs around its few lines of Python: the
 * options, the first line and the summary, SIGINT/SIGTERM, a log that
 * never stalls the server, --demo's client, --workers' processes, and the
 * reasons a connection is refused or closed. 06_socket_server.c keeps only
 * what the course's server does, call for call.
 */
#ifndef LESSON06_SCAFFOLD_H
#define LESSON06_SCAFFOLD_H

#include <stddef.h>

#include "cosock.h"
#include "pool.h"

/* One client: its socket and its number (1, 2, ... in accept order). */
struct srv_conn {
    int fd;
    unsigned long id;
};

/* Options, stdout, signals; with --workers N, fork N processes, each with
 * its own hub: each returns from here, the parent never does (it waits
 * for them, prints how the connections spread, and exits). */
void srv_setup(int argc, char **argv);

/* s = socket.socket(); s.bind((host, port)); s.listen(): prints the first
 * line (the address, with the port --port 0 got) and the backend. */
int srv_listen(void);

/* SIGINT or SIGTERM came (or --demo is done): stop accepting. */
bool srv_stopping(void);

/* The seconds recv and sendall may wait: --idle-timeout (HUB_FOREVER for
 * 0). gevent: conn.settimeout(seconds). */
double srv_idle_timeout(void);

/* --max-conns, the pool's size (0: no limit). */
size_t srv_max_conns(void);

/* A new client: its record, or NULL when it was refused and closed (the
 * pool is full, or select cannot watch its descriptor), counted for the
 * summary. Prints "connection N from ADDR opened". */
struct srv_conn *srv_admit(hub_pool *pool, int fd, const cosock_addr *addr);

/* accept failed: out of descriptors, pause and retry; stopping, nothing;
 * anything else is fatal. */
void srv_accept_failed(int err);

/* hub_pool_spawn failed: say so, close the client. */
void srv_spawn_failed(struct srv_conn *c, int err);

/* print("recv:", data), unless --quiet; then count the bytes echoed. */
void srv_print_recv(const void *data, size_t n);
void srv_echoed(size_t n);

/* The client is gone: print why (err 0: end of file; ECANCELED: the
 * server is stopping; ETIMEDOUT: --idle-timeout), as the Python's print(ex). */
void srv_closed(struct srv_conn *c, int err);

/* pool.kill(): end every connection's greenlet (each prints why). */
void srv_kill_all(hub_pool *pool);

/* The summary line; returns main's exit status. */
int srv_summary(void);

#endif
