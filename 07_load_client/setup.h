/*
 * setup.h - 07's scaffolding: its options, stopping on a signal, a
 * blocking connect, the --local-server echo server, the --interactive
 * client and the --idle connections. Nothing here is the lesson; the
 * lesson is the two sock_conn()s in 07_load_client.c.
 */
#ifndef LOAD_SETUP_H
#define LOAD_SETUP_H

#include <signal.h>
#include <stdbool.h>

#include "greenlet.h"

/* The options, set by load_parse_args. */
extern long threads, coroutines, messages, size, idle, port;
extern double duration, timeout_s;
extern const char *host;
extern bool quiet, interactive, local_server;

/* Parse the command line; exits 2 on bad arguments. */
void load_parse_args(int argc, char **argv);
/* Guarded stacks, or one shared stack (above 10,000 greenlets, unless
 * --stacks says otherwise): see common/README.md, "Stacks". */
enum greenlet_stack_kind load_stack_kind(void);

/* SIGINT and SIGTERM set cl_stop_signal and make stop_fd readable, for
 * good (cl_stop_on_signals): every thread's poll() and the greenlets'
 * watcher see it. SIGPIPE is ignored. */
extern int stop_fd;
void stop_on_signals(void);
/* A greenlet that kills every client greenlet once stop_fd is readable. */
struct hub_task *spawn_stop_watcher(void);
/* Kill a helper greenlet (NULL: none), wait for it, free it. */
void end_helper(struct hub_task *t);

/* A non-blocking TCP socket connected to host:port within --timeout, or
 * -1 with errno set (EINTR: a signal stopped the run). */
int blocking_connect(void);

/* --local-server: an echo server on a free port, in its own thread and
 * hub; sets host and port. */
void local_server_start(void);
void local_server_stop(void);

/* --interactive: the notes' one-line client. Returns the exit status. */
int interactive_client(void);

/* --idle: open the idle connections (exits 1 if one cannot be), close them;
 * idle_open returns how many are open. */
long idle_open(void);
void idle_close(void);

#endif
