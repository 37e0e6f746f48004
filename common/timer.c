/* timer.c - the hub's timers: a sorted list for timers set in deadline
 * order, a binary heap for the others (see timer.h). */
#include "timer.h"

#include <errno.h>
#include <stdlib.h>

void hub_timers_init(struct hub_timers *ts)
{
    cl_list_init(&ts->sorted);
    ts->heap = NULL;
    ts->heap_len = ts->heap_cap = 0;
    ts->next_seq = 0;
}

void hub_timers_fini(struct hub_timers *ts)
{
    free(ts->heap);
    hub_timers_init(ts);
}

static bool earlier(const struct hub_timer *a, const struct hub_timer *b)
{
    return a->deadline < b->deadline ||
           (a->deadline == b->deadline && (int32_t)(a->seq - b->seq) < 0);
}

static void heap_set(struct hub_timers *ts, size_t i, struct hub_timer *t)
{
    ts->heap[i] = t;
    t->slot = (uint32_t)i;
}

static void heap_up(struct hub_timers *ts, size_t i)
{
    struct hub_timer *t = ts->heap[i];
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!earlier(t, ts->heap[parent]))
            break;
        heap_set(ts, i, ts->heap[parent]);
        i = parent;
    }
    heap_set(ts, i, t);
}

static void heap_down(struct hub_timers *ts, size_t i)
{
    struct hub_timer *t = ts->heap[i];
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= ts->heap_len)
            break;
        if (c + 1 < ts->heap_len && earlier(ts->heap[c + 1], ts->heap[c]))
            c++;
        if (!earlier(ts->heap[c], t))
            break;
        heap_set(ts, i, ts->heap[c]);
        i = c;
    }
    heap_set(ts, i, t);
}

static struct hub_timer *sorted_entry(struct cl_list *l)
{
    return l ? cl_container_of(l, struct hub_timer, sorted_link) : NULL;
}

/* hub_timers_add (timer.h) of a deadline earlier than the sorted list's
 * last: into the heap. */
int hub_timers_add_heap_(struct hub_timers *ts, struct hub_timer *t)
{
    if (ts->heap_len == ts->heap_cap) {
        size_t cap = ts->heap_cap ? ts->heap_cap * 2 : 64;
        struct hub_timer **v;
        if (cap >= HUB_TIMER_SORTED ||
            !(v = realloc(ts->heap, cap * sizeof *v))) {
            t->slot = HUB_TIMER_IDLE;
            return ENOMEM;
        }
        ts->heap = v;
        ts->heap_cap = cap;
    }
    heap_set(ts, ts->heap_len++, t);
    heap_up(ts, t->slot);
    return 0;
}

void hub_timers_remove(struct hub_timers *ts, struct hub_timer *t)
{
    size_t i = t->slot;
    struct hub_timer *last;
    if (i == HUB_TIMER_IDLE)
        return;
    t->slot = HUB_TIMER_IDLE;
    if (i == HUB_TIMER_SORTED) {
        cl_list_remove(&t->sorted_link);
        return;
    }
    last = ts->heap[--ts->heap_len];
    if (last == t)
        return;
    heap_set(ts, i, last);
    if (i > 0 && earlier(last, ts->heap[(i - 1) / 2]))
        heap_up(ts, i);
    else
        heap_down(ts, i);
}

struct hub_timer *hub_timers_first(const struct hub_timers *ts)
{
    struct hub_timer *a = ts->heap_len ? ts->heap[0] : NULL;
    struct hub_timer *b = sorted_entry(cl_list_first(&ts->sorted));
    if (!a)
        return b;
    if (!b)
        return a;
    return earlier(a, b) ? a : b;
}
