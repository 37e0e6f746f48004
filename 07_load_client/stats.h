/*
 * stats.h - what 07 counts and prints: each client's counters, a latency
 * histogram, the live progress line and the summary. Kept out of the
 * lesson's main file, which is about the two ways of running clients.
 */
#ifndef LOAD_STATS_H
#define LOAD_STATS_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hub.h"

/* Latency: a log histogram, 50 buckets per decade from 1 us to 100 s. */
#define HIST_BUCKETS 400

struct hist {
    uint32_t n[HIST_BUCKETS];
    double max;
};

/* One client: its connection's counters and its message buffers. */
struct client {
    int id;                     /* 1..N, printed as [id] */
    bool connected, failed, started;
    uint64_t sent, echoed, mismatched, bytes; /* read by the progress line */
    struct hist *lat;           /* its own (threads) or the one shared (greenlets) */
    char *msg, *reply;          /* --size bytes each (at least 32), */
    size_t reply_room;          /* reply twice that (greenlet_exchange) */
    size_t msg_prefix;          /* msg's "hello N" now (client_message) */
    size_t early_at, early_len; /* reply[early_at..+early_len): bytes read
                                 * past the last echo (greenlet_exchange) */
    struct {                    /* greenlet_exchange's second greenlet: */
        int fd;                 /* it sends msg[from..to) on fd */
        size_t from, to;
        double deadline;
        int err;                /* and says how that went */
    } rest;
    pthread_t thread;
    hub_task *task;
};

/* The clients, and when the load started and ended (set by the last
 * client to reach each barrier). */
extern struct client *clients;
extern long nclients;
extern double t_start, t_end;
/* Greenlets that never started (no stack): the run was given up. */
extern long not_started;

/* Allocate n clients, their buffers and nhists histograms. */
void clients_new(long n, int nhists);
void clients_free(void);

/* "hello COUNT", padded with dots to --size bytes, into c->msg. */
size_t client_message(struct client *c, uint64_t count);
/* A connect that gave fd (< 0: failed, errno says why). */
void client_connected(struct client *c, int fd);
/* One line per failure on stderr (the first ten); err 0 means the server
 * closed the connection. Quiet once a signal has stopped the run. */
void client_error(struct client *c, const char *what, int err);
/* All of the message is on its way. */
void client_sent(struct client *c);
/* The echo of message `count` came back in `seconds`: compare, count, print. */
void client_echoed(struct client *c, uint64_t count, size_t len, double seconds);
/* Bytes the server sent after the last echo: a mismatch too. */
void client_extra(struct client *c, const char *buf, size_t n);

/* "\r  N messages, R messages/s" on stderr. */
void progress_line(void);
/* On a terminal, a greenlet printing it four times a second; else NULL. */
hub_task *spawn_progress(void);
/* Print the summary; returns the exit status (0: every echo matched). */
int summary(const char *model, long idle_open);

#endif
