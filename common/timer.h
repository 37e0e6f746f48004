/*
 * timer.h - the hub's timers: deadlines in nanoseconds, fired in order of
 * (deadline, order set), so timers with equal deadlines fire in the order
 * they were set (what makes the hub's order deterministic).
 *
 * Two structures hold them. A timer set no earlier than the last one set
 * (the usual case: many equal sleeps or timeouts) goes on the end of the
 * `sorted` list in O(1); only the others go on a binary heap. The first
 * timer to fire is the earlier of the two heads.
 *
 * A hub_timer is embedded in its owner's record (the hub's waiter record)
 * and found from it with cl_container_of; this file neither allocates nor
 * frees timers, only the heap's array.
 */
#ifndef CL_TIMER_H
#define CL_TIMER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "list.h"

/* hub_timer.slot when it is not in the heap */
#define HUB_TIMER_IDLE UINT32_MAX          /* not set */
#define HUB_TIMER_SORTED (UINT32_MAX - 1)  /* on the sorted list */

struct hub_timer {
    uint64_t deadline;            /* ns, CLOCK_MONOTONIC (cl_now_ns) */
    struct cl_list sorted_link;   /* while slot == HUB_TIMER_SORTED */
    uint32_t slot;                /* HUB_TIMER_IDLE, _SORTED, or heap index */
    /* Order set, for ties, compared modulo 2^32 (32 bits keep the record
     * of a sleeping greenlet 8 bytes smaller): right unless two timers
     * with the very same deadline, to the nanosecond, were set more than
     * two billion timers apart. */
    uint32_t seq;
};

struct hub_timers {
    struct cl_list sorted;        /* of hub_timer.sorted_link, by deadline */
    struct hub_timer **heap;
    size_t heap_len, heap_cap;
    uint32_t next_seq;
};

void hub_timers_init(struct hub_timers *ts);
/* Free the heap's array; the timers themselves are their owners'. */
void hub_timers_fini(struct hub_timers *ts);

/* A timer that is not set. */
static inline void hub_timer_init(struct hub_timer *t)
{
    t->slot = HUB_TIMER_IDLE;
}

static inline bool hub_timer_pending(const struct hub_timer *t)
{
    return t->slot != HUB_TIMER_IDLE;
}

/* Set an idle timer for `deadline`. 0, or ENOMEM (the heap could not
 * grow: the timer is left idle). */
int hub_timers_add_heap_(struct hub_timers *ts, struct hub_timer *t);
/* Inline, its common case (a deadline no earlier than the last) at least:
 * a greenlet sets its timer just before it parks, and a call's frame
 * would be one more line of its stack, below those it parks with, written
 * for nothing (common/README.md, "Echo at a thousand connections"). */
static inline int hub_timers_add(struct hub_timers *ts, struct hub_timer *t,
                                 uint64_t deadline)
{
    struct cl_list *l = cl_list_last(&ts->sorted);
    t->deadline = deadline;
    t->seq = ts->next_seq++;
    if (!l || deadline >=
                  cl_container_of(l, struct hub_timer, sorted_link)->deadline) {
        t->slot = HUB_TIMER_SORTED;
        cl_list_push_back(&ts->sorted, &t->sorted_link);
        return 0;
    }
    return hub_timers_add_heap_(ts, t);
}
/* Unset a timer; no-op if it is idle. */
void hub_timers_remove(struct hub_timers *ts, struct hub_timer *t);
/* The timer that fires first, or NULL. */
struct hub_timer *hub_timers_first(const struct hub_timers *ts);

#endif
