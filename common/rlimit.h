/*
 * rlimit.h - process limits a server or a load client needs raised.
 *
 * Not part of the command-line helpers (cli.h is options, errors and
 * colours only): this is about the process, not its arguments.
 */
#ifndef CL_RLIMIT_H
#define CL_RLIMIT_H

/* Raise the open-file limit to its hard limit (servers and load clients
 * hold thousands of sockets); returns the limit now in force, -1 when it
 * is unlimited or cannot be read. */
long cl_raise_fd_limit(void);

#endif
