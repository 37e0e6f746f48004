/*
 * greenlet.h - layer 1: greenlets, coroutines you switch to explicitly.
 *
 * Mirrors Python's greenlet module:
 *   g = greenlet(run, parent)      greenlet_new(run, arg, parent)
 *   g.switch(x)                    greenlet_switch(g, x)
 *   g.dead, g.parent               greenlet_dead(g), greenlet_parent(g)
 *   greenlet.getcurrent()          greenlet_current()
 *
 * The rules are greenlet's: the first switch into g calls run(arg, value);
 * when run returns, its return value is switched into g's parent (or the
 * parent's parent, if that one is dead too); switching to a dead greenlet
 * switches to its parent. Each thread has its own main greenlet, the one
 * running main() or the thread function, and a greenlet belongs to the
 * thread that made it: switching into another thread's greenlet fails.
 *
 * Stacks (see README.md, "Stacks"): a greenlet either owns a guarded stack
 * (GREENLET_STACK_GUARDED, the default: fast switches, 256 KiB of address
 * space each, two mappings each) or runs on its thread's one shared stack
 * (GREENLET_STACK_SHARED: its used part is copied out when another shared
 * greenlet takes the stack, the way Python's greenlet copies stacks; a few
 * hundred bytes each, so a million fit in memory).
 */
#ifndef CL_GREENLET_H
#define CL_GREENLET_H

#include <stdbool.h>
#include <stddef.h>

#include "sanitize.h"
#include "stack.h"
#include "switch.h"

typedef struct greenlet greenlet;
typedef void *(*greenlet_run)(void *arg, void *value);

enum greenlet_stack_kind {
    GREENLET_STACK_GUARDED = 0,
    GREENLET_STACK_SHARED = 1,
};

enum greenlet_state {
    GREENLET_NEW = 0,    /* made, never switched into */
    GREENLET_ACTIVE = 1, /* started, not finished */
    GREENLET_DEAD = 2,   /* run returned */
};

/* Returned by greenlet_switch when the switch could not happen; errno
 * says why (EPERM: another thread's greenlet; ENOMEM/EAGAIN: no stack). */
extern char greenlet_error_[1];
#define GREENLET_ERROR ((void *)greenlet_error_)

struct greenlet_thread;

/* Public so that higher layers can embed a greenlet in their own records
 * (greenlet_init); treat the fields as read-only. */
struct greenlet {
    cl_ctx ctx;
    struct greenlet_thread *thread;
    greenlet *parent;
    greenlet_run run;
    union {                /* one field for both: */
        void *arg;         /* run's argument, until it starts */
        void *result;      /* run's return value once dead (NULL if it
                            * never returned: greenlet_result) */
    };
    unsigned char state;   /* enum greenlet_state */
    unsigned char fast;    /* greenlet_switch's inline path may switch to or
                            * from it: 1, or 2 if fpu_fixed; 0: it may not
                            * (not started, dead, or on the shared stack) */
    /* one byte of bits (a million SHARED greenlets: every byte counts) */
    unsigned char stack_kind : 1;  /* enum greenlet_stack_kind */
    unsigned char owns_memory : 1; /* made by greenlet_new */
    unsigned char fpu_fixed : 1;   /* never changes the FPU control state */
    unsigned char freed : 1;       /* greenlet_free'd while it still had
                                    * children: kept, dead, until the last
                                    * one goes */
    unsigned char name_in_slab : 1; /* name is from its thread's blocks */
    unsigned id;           /* 1, 2, ... in order of making, per thread */
    unsigned children;     /* greenlets whose parent this is */
    /* SHARED: bytes in saved; its capacity is cl_slabs_cap(saved_len) */
    unsigned saved_len;
    union {                /* by stack_kind: */
        cl_stack *stack;   /* GUARDED: its own stack, taken when made */
        char *saved;       /* SHARED: copy of its part of the shared stack */
    };
    char *name;            /* its own copy, or NULL */
    cl_fiber asan;         /* AddressSanitizer's view (empty without it) */
};

typedef struct greenlet_opts {
    enum greenlet_stack_kind stack_kind;
    size_t stack_size;     /* GUARDED only; 0 = CL_STACK_DEFAULT_SIZE */
    size_t guard_size;     /* GUARDED only: PROT_NONE bytes below the stack;
                            * 0 = CL_STACK_DEFAULT_GUARD (64 KiB) */
    const char *name;      /* for traces and the overflow message; copied */
    /* A promise that this greenlet never changes the FPU control state
     * (rounding mode...): switches away from it then skip storing its x87
     * control word and MXCSR (stmxcsr is the slow part of a switch); it is
     * resumed with the words it was made with. The hub makes this promise
     * for itself. */
    bool fpu_fixed;
} greenlet_opts;

/* The calling thread's current greenlet (its main greenlet if none other
 * has been switched to). Never NULL. */
greenlet *greenlet_current(void);

/* A new greenlet that will run run(arg, value); parent NULL means the
 * current greenlet. A GUARDED greenlet takes its stack now (from the pool,
 * or a new mapping), so that running out of stacks is reported here and
 * not at its first switch. NULL with errno set on failure: ENOMEM when no
 * stack (or no memory) could be had, EPERM for a parent of another thread.
 * The name in opts is copied. */
greenlet *greenlet_new(greenlet_run run, void *arg, greenlet *parent);
greenlet *greenlet_new_opts(greenlet_run run, void *arg, greenlet *parent,
                            const greenlet_opts *opts);

/* The same for a greenlet embedded in a caller's record; opts may be NULL.
 * 0, or -1 with errno ENOMEM when it could get no stack (or no copy of its
 * name): the greenlet is then made but can never start (switching to it
 * fails with ENOMEM); greenlet_free it as usual. */
int greenlet_init(greenlet *g, greenlet_run run, void *arg, greenlet *parent,
                  const greenlet_opts *opts);

/* Free a greenlet. One that is suspended mid-run has its frames dropped
 * unrun (C has no GreenletExit to unwind them with). Errors: EBUSY for the
 * running greenlet and for main, EPERM for another thread's greenlet.
 *
 * A greenlet that is still the parent of others: its children are handed
 * to its parent, as in Python when a parent dies. One made by greenlet_new
 * is freed as far as the caller is concerned (its stack and frames go at
 * once; the record stays, dead, until its last child is freed, so a child
 * that finishes passes its result up past it). One made by greenlet_init
 * cannot outlive the caller's record: freeing it fails with EBUSY while it
 * has children (free or re-parent them first).
 *
 * For greenlet_init'ed ones this releases the stack, the saved frames and
 * the name, not the record. */
int greenlet_free(greenlet *g);

static inline bool greenlet_dead(const greenlet *g)
{
    return g->state == GREENLET_DEAD;
}
static inline bool greenlet_started(const greenlet *g)
{
    return g->state != GREENLET_NEW;
}
/* The greenlet its result goes to: the parent, or the nearest living
 * ancestor if the parent was freed while this one lived. */
static inline greenlet *greenlet_parent(const greenlet *g)
{
    greenlet *p = g->parent;
    while (p->freed)
        p = p->parent;
    return p;
}
static inline void *greenlet_result(const greenlet *g)
{
    return g->state == GREENLET_DEAD ? g->result : NULL;
}

/* Re-parent g; EINVAL if that would make a cycle, EPERM across threads. */
int greenlet_set_parent(greenlet *g, greenlet *parent);

/* The thread's main greenlet. */
greenlet *greenlet_main(void);

/* A short printable name: the one given in opts, else "greenlet-ID"
 * ("main" for the main greenlet). buf is used only for the latter. */
const char *greenlet_name(const greenlet *g, char *buf, size_t len);

/* Set or change the name later (copied; NULL: back to "greenlet-ID").
 * 0, or -1 with ENOMEM (the old name is kept). */
int greenlet_set_name(greenlet *g, const char *name);

/* Optional hook called on every switch, for tracing (see trace.h); NULL
 * turns it off. Costs one predictable branch per switch when off. */
typedef void (*greenlet_switch_hook)(greenlet *from, greenlet *to);
void greenlet_set_switch_hook(greenlet_switch_hook hook);

/* ---- internals of the switch fast path below: not API ---- */

struct greenlet_thread {
    greenlet main;
    greenlet *current;
    greenlet *release;       /* dead GUARDED greenlet whose stack to free,
                              * once off it: at the next slow-path switch,
                              * greenlet start or death, or greenlet_free */
    greenlet *switching_from; /* who the last switch left (for ASan) */
    unsigned last_id;
    cl_stack *shared;        /* this thread's shared stack, made on demand */
    greenlet *shared_owner;  /* whose frames are on it now */
    /* A context on its own small stack that swaps the shared stack's
     * contents when a SHARED greenlet switches to another SHARED one: the
     * copy cannot be made while running on the stack being overwritten. */
    cl_ctx restorer;
    cl_stack *restorer_stack;
    greenlet *restore_to;
    cl_fiber restorer_asan;
    cl_fiber shared_asan;     /* the shared stack, for ASan */
    /* Where SHARED greenlets' saved frames and the names live: size
     * classes of slabs (slab.h), not malloc (a million of each in 04). */
    struct cl_slabs *blocks;
};
extern __thread struct greenlet_thread *greenlet_tls_;
extern greenlet_switch_hook greenlet_hook_;
void *greenlet_switch_out_(greenlet *g, void *value);
/* greenlet_switch for a caller that is resumed with an int, sent as
 * (void *)(intptr_t)n: from a SHARED greenlet it ends in a tail call to
 * the switch (cl_ctx_switch_int), so that a caller ending in a tail call
 * to it leaves no frame among those saved while it waits (the hub's
 * sleeps). GREENLET_ERROR comes back as -1. */
int greenlet_switch_int_(greenlet *g, void *value);

/* Switch to g, passing value; returns the value passed back to us later,
 * or GREENLET_ERROR.
 *
 * The common case (a started greenlet with its own stack, on this thread,
 * no trace hook) is inlined into the caller, switch included: see
 * cl_ctx_switch_inline. Everything else, and every switch under ASan
 * (which must be told about it), goes through greenlet_switch_out_. */
static inline __attribute__((always_inline)) void *
greenlet_switch(greenlet *g, void *value)
{
#if defined(CL_HAVE_INLINE_SWITCH) && !defined(CL_ASAN)
    struct greenlet_thread *t = greenlet_tls_;
    greenlet *cur;
    if (__builtin_expect(g->thread == t && g->fast && greenlet_hook_ == NULL &&
                         (cur = t->current) != g && cur->fast, 1)) {
        t->current = g;
        if (cur->fast == 2)
            return cl_ctx_switch_inline_fixed(&cur->ctx, &g->ctx, value);
        return cl_ctx_switch_inline(&cur->ctx, &g->ctx, value);
    }
#endif
    return greenlet_switch_out_(g, value);
}

#endif
