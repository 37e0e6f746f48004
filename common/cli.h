/*
 * cli.h - the small helpers every lesson shares, in the spirit of TLPI's
 * lib/: error exits, a usage line, option parsing with --help and
 * --version, and colours that only appear on a terminal.
 */
#ifndef CL_CLI_H
#define CL_CLI_H

#include <stdbool.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>

#include "clock.h" /* cl_now, which every lesson times with */
#include "i18n.h"  /* _() and N_(): every message goes through gettext */

#ifndef CL_VERSION
#define CL_VERSION "0.1.0"
#endif

/* Exit statuses: 0 fine, 1 the lesson failed, 2 bad arguments. */
enum { CL_EXIT_FAIL = 1, CL_EXIT_USAGE = 2 };

extern const char *cl_progname;

/* "prog: message: strerror(errno)" and exit 1. */
void cl_err_exit(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* Stop on SIGINT and SIGTERM, the way a thread's poll() and a greenlet of
 * the hub can both wait for: the handler sets cl_stop_signal (the first
 * signal's number) and writes a byte to a pipe that is never read, so its
 * read end, returned here, stays readable for good. -1 with errno if
 * there is no pipe. (06 and 07; not a libevent signal event, which would
 * give libevent an event of its own: common/README.md, "Echo at a
 * thousand connections".) */
extern volatile sig_atomic_t cl_stop_signal;
int cl_stop_on_signals(void);
/* "prog: message" and exit 1. */
void cl_fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
/* "prog: message", "Try 'prog --help'." and exit 2. */
void cl_usage_err(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
/* "prog: message" on stderr, and carry on. */
void cl_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

typedef enum {
    CL_OPT_FLAG,   /* bool *, no argument */
    CL_OPT_INT,    /* long *, whole number in [min, max] */
    CL_OPT_DOUBLE, /* double *, number in [min, max] */
    CL_OPT_STRING, /* const char **, any text */
} cl_opt_type;

typedef struct cl_option {
    const char *name;     /* long name, without "--" */
    char short_name;      /* 0 for none */
    cl_opt_type type;
    void *value;
    const char *arg_name; /* "N", "SECONDS": shown in --help */
    const char *help;
    double min, max;      /* numbers only; min == max means no bound */
} cl_option;

typedef struct cl_program {
    const char *name;        /* the lesson's name; messages, --help and the
                              * "Try" line use argv[0]'s basename instead,
                              * the command as it was run */
    const char *summary;     /* one line under the usage line */
    const char *args;        /* positional part of the usage line, or NULL */
    const char *details;     /* a paragraph after the options, or NULL */
    const cl_option *options; /* ends with an entry whose name is NULL */
    int min_args, max_args;  /* positional arguments allowed */
} cl_program;

/* Parse argv: sets option values, handles --help (exit 0), --version
 * (exit 0) and --trace (see trace.h; so does COROLAB_TRACE=1), and exits 2
 * with a usage message on anything it cannot take. Returns the index of
 * the first positional argument. "--" ends options. Call it first: it also
 * makes stdout line-buffered (a lesson's lines appear as they happen, even
 * through a pipe or into a file; not into /dev/null), so it must come
 * before any output. */
int cl_parse_args(const cl_program *prog, int argc, char **argv);

/* Parse a whole number or a decimal, in [min, max]; false if not one. */
bool cl_parse_long(const char *s, long min, long max, long *out);
bool cl_parse_double(const char *s, double min, double max, double *out);

/* ANSI colours: the escape, or "" when stdout is not a terminal, NO_COLOR
 * is set (https://no-color.org) or TERM=dumb. */
enum cl_color { CL_RESET, CL_RED, CL_GREEN, CL_YELLOW, CL_BLUE, CL_DIM, CL_BOLD };
const char *cl_color(enum cl_color c);
bool cl_color_enabled(void);

#endif
