/* greenlet.c - explicit-switch coroutines on top of cl_ctx_switch. */
#include "greenlet.h"
#include "sanitize.h"
#include "slab.h"
#include "i18n.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

char greenlet_error_[1];

/* The shared stack is where SHARED greenlets really run; it must hold the
 * deepest call they make (printf and friends included), not what they keep
 * while suspended, so it is generous. */
#define SHARED_STACK_SIZE (1024 * 1024)
#define RESTORER_STACK_SIZE (64 * 1024)


__thread struct greenlet_thread *greenlet_tls_;
greenlet_switch_hook greenlet_hook_;
#define gt greenlet_tls_
#define switch_hook greenlet_hook_
static pthread_key_t thread_key;
static pthread_once_t thread_key_once = PTHREAD_ONCE_INIT;

static __attribute__((noreturn)) void fatal(const char *what)
{
    fprintf(stderr, "corolab: %s\n", what);
    abort();
}

/* ---- naming, and what the overflow handler asks ---- */

const char *greenlet_name(const greenlet *g, char *buf, size_t len)
{
    if (g->name)
        return g->name;
    if (g == &g->thread->main)
        return "main";
    snprintf(buf, len, "greenlet-%u", g->id);
    return buf;
}

static void name_free(greenlet *g)
{
    if (g->name_in_slab)
        cl_slabs_free(g->thread->blocks, g->name, strlen(g->name) + 1);
    else
        free(g->name);
    g->name = NULL;
    g->name_in_slab = 0;
}

int greenlet_set_name(greenlet *g, const char *name)
{
    char *copy = NULL;
    bool in_slab = false;
    if (name) {
        size_t n = strlen(name) + 1, cap;
        /* Short names, on the greenlet's own thread, from its blocks (a
         * name per task, a million tasks): the size is the length's. */
        if (g->thread == gt && n <= CL_SLABS_MAX) {
            copy = cl_slabs_alloc(g->thread->blocks, n, &cap);
            in_slab = true;
        } else {
            copy = malloc(n);
        }
        if (!copy)
            return -1; /* errno ENOMEM */
        memcpy(copy, name, n);
    }
    name_free(g);
    g->name = copy;
    g->name_in_slab = in_slab;
    return 0;
}

/* Signal handler context: "greenlet 'NAME'" is put together by hand. */
static void name_stack_owner(const cl_stack *st, char *name, size_t len)
{
    struct greenlet_thread *t = gt;
    const greenlet *g = st->owner;
    const char *src;
    size_t i = 0;

    if (t && st == t->shared) /* the owner is whoever runs on it now */
        g = t->shared_owner ? t->shared_owner : t->current;
    else if (t && st == t->restorer_stack)
        g = NULL;
    if (!g || len < 40) {
        const char *what = g ? "a greenlet" : "the shared stack's restorer";
        size_t n = strlen(what) + 1;
        memcpy(name, what, n < len ? n : len);
        name[len - 1] = '\0';
        return;
    }
    src = g->name ? g->name : "greenlet-";
    memcpy(name, "greenlet '", 10);
    i = 10;
    for (; *src && i + 16 < len; src++)
        name[i++] = *src;
    if (!g->name) { /* its number, digit by digit */
        char d[12];
        int n = 0;
        unsigned id = g->id;
        do
            d[n++] = (char)('0' + id % 10);
        while ((id /= 10) && n < 11);
        while (n)
            name[i++] = d[--n];
    }
    name[i++] = '\'';
    name[i] = '\0';
}

/* ---- per-thread state ---- */

static void release_dead(struct greenlet_thread *t);

static void thread_exit(void *p)
{
    struct greenlet_thread *t = p;
    if (t->release)
        release_dead(t);
    cl_stack_put(t->shared);
    cl_stack_put(t->restorer_stack);
    name_free(&t->main);
    cl_slabs_fini(t->blocks);
    free(t->blocks);
    free(t);
    gt = NULL;
}

static void make_key(void)
{
    pthread_key_create(&thread_key, thread_exit);
    cl_stack_set_namer(name_stack_owner);
}

static struct greenlet_thread *thread_state(void)
{
    struct greenlet_thread *t = gt;
    if (likely(t))
        return t;
    pthread_once(&thread_key_once, make_key);
    t = calloc(1, sizeof *t);
    if (t && !(t->blocks = calloc(1, sizeof *t->blocks))) {
        free(t);
        t = NULL;
    }
    if (!t)
        fatal(_("out of memory making a thread's main greenlet"));
    t->main.thread = t;
    t->main.parent = &t->main;
    t->main.state = GREENLET_ACTIVE;
    t->main.fast = 1;
    t->current = &t->main;
    gt = t;
    pthread_setspecific(thread_key, t);
    cl_stack_thread_init();
    return t;
}

greenlet *greenlet_current(void)
{
    return thread_state()->current;
}

greenlet *greenlet_main(void)
{
    return &thread_state()->main;
}

void greenlet_set_switch_hook(greenlet_switch_hook hook)
{
    switch_hook = hook;
}

/* ---- making and freeing ---- */

/* A SHARED greenlet's copy of its frames goes back to the blocks. */
static void saved_free(struct greenlet_thread *t, greenlet *g)
{
    cl_slabs_free(t->blocks, g->saved, cl_slabs_cap(g->saved_len));
    g->saved = NULL;
    g->saved_len = 0;
}

static void entry(void *arg, void *value);
static __attribute__((noreturn)) void leave_dead(void *result);
static int ensure_shared(struct greenlet_thread *t);

int greenlet_init(greenlet *g, greenlet_run run, void *arg, greenlet *parent,
                  const greenlet_opts *opts)
{
    struct greenlet_thread *t = thread_state();
    int rc = 0;

    memset(g, 0, sizeof *g);
    g->thread = t;
    g->parent = parent ? parent : t->current;
    g->parent->children++;
    g->run = run;
    g->arg = arg;
    g->state = GREENLET_NEW;
    g->id = ++t->last_id;
    if (opts) {
        g->stack_kind = (unsigned char)opts->stack_kind;
        g->fpu_fixed = opts->fpu_fixed;
        if (opts->name && greenlet_set_name(g, opts->name) != 0)
            rc = -1;
    }
    /* The stack now, so that having none is said here. */
    if (g->stack_kind == GREENLET_STACK_GUARDED) {
        g->stack = cl_stack_get_guarded(opts ? opts->stack_size : 0,
                                        opts ? opts->guard_size : 0);
        if (g->stack)
            g->stack->owner = g;
        else
            rc = -1;
    } else if (ensure_shared(t) != 0) {
        rc = -1;
    }
    if (rc != 0)
        errno = ENOMEM;
    return rc;
}

greenlet *greenlet_new_opts(greenlet_run run, void *arg, greenlet *parent,
                            const greenlet_opts *opts)
{
    greenlet *g;
    if (parent && parent->thread != thread_state()) {
        errno = EPERM;
        return NULL;
    }
    g = malloc(sizeof *g);
    if (!g)
        return NULL;
    if (greenlet_init(g, run, arg, parent, opts) != 0) {
        greenlet_free(g); /* not owned yet: releases, keeps g */
        free(g);
        errno = ENOMEM;
        return NULL;
    }
    g->owns_memory = 1;
    return g;
}

greenlet *greenlet_new(greenlet_run run, void *arg, greenlet *parent)
{
    return greenlet_new_opts(run, arg, parent, NULL);
}

/* g's record is no longer referenced by a child: free it if it waited for
 * that, and so on up (its own parent loses a child). */
static void drop_child(greenlet *parent)
{
    while (--parent->children == 0 && parent->freed && parent->owns_memory) {
        greenlet *up = parent->parent;
        free(parent);
        parent = up;
    }
}

int greenlet_free(greenlet *g)
{
    struct greenlet_thread *t;
    if (!g)
        return 0;
    t = g->thread;
    if (t != gt) {
        errno = EPERM;
        return -1;
    }
    if (g->freed) /* an embedded one freed before: nothing left to do */
        return 0;
    if (g == t->current || g == &t->main) {
        errno = EBUSY;
        return -1;
    }
    if (g->children && !g->owns_memory) {
        errno = EBUSY; /* the caller's record: it cannot wait for them */
        return -1;
    }
    if (t->release == g)
        release_dead(t);
    /* An ACTIVE one's frames are dropped: C has no GreenletExit to unwind
     * them with, and whatever they own is the caller's to have freed. */
    if (t->shared_owner == g)
        t->shared_owner = NULL;
    if (g->stack_kind == GREENLET_STACK_GUARDED) {
        cl_stack_put(g->stack);
        g->stack = NULL;
    } else {
        saved_free(t, g);
    }
    if (g->state != GREENLET_DEAD) /* run never returned: no result */
        g->result = NULL;
    g->state = GREENLET_DEAD;
    g->fast = 0;
    name_free(g);
    g->freed = 1;
    if (g->children) {
        /* Children still point here: stay, dead, so that their results
         * pass up to our parent (switch_slow skips the dead), until the
         * last of them is freed or re-parented (drop_child). */
        return 0;
    }
    drop_child(g->parent);
    if (g->owns_memory)
        free(g);
    return 0;
}

int greenlet_set_parent(greenlet *g, greenlet *parent)
{
    greenlet *p, *old = g->parent;
    if (!parent || parent->thread != g->thread) {
        errno = EPERM;
        return -1;
    }
    if (parent->freed) {
        errno = EINVAL;
        return -1;
    }
    for (p = parent; ; p = p->parent) {
        if (p == g) {
            errno = EINVAL;
            return -1;
        }
        if (p->parent == p) /* main */
            break;
    }
    if (parent == old)
        return 0;
    parent->children++;
    g->parent = parent;
    drop_child(old);
    return 0;
}

/* ---- switching ---- */

static void release_dead(struct greenlet_thread *t)
{
    greenlet *g = t->release;
    t->release = NULL;
    cl_stack_put(g->stack);
    g->stack = NULL;
}

/* ASan is told about every switch (no-ops without it, see sanitize.h):
 * leaving, with the stack about to run... */
static inline void asan_leave(greenlet *from, const cl_fiber *to)
{
    cl_fiber_leave(from && from->state != GREENLET_DEAD ? &from->asan : NULL,
                   to);
}

/* ...and arriving in `self` (NULL on a first run). */
static inline void asan_arrive(struct greenlet_thread *t, cl_fiber *self)
{
    /* The main greenlet's stack is only learnt when we first leave it. */
    cl_fiber_arrive(self, t->switching_from == &t->main ? &t->main.asan
                                                        : NULL);
}

/* The trace hook, told of a switch. A switch keeps errno as it finds it:
 * the hub sets a parked greenlet's errno just before resuming it, and a
 * SHARED greenlet has no code of its own left between its switch and its
 * caller (greenlet_switch_int_) to set it after. */
static void tell_switch_hook(greenlet *from, greenlet *to)
{
    int saved_errno = errno;
    switch_hook(from, to);
    errno = saved_errno;
}

/* Leaving a SHARED-stack greenlet for `to`: the bookkeeping, up to the
 * switch itself. Returns the greenlet being left. */
static inline __attribute__((always_inline)) greenlet *
leave_shared(struct greenlet_thread *t, greenlet *to)
{
    greenlet *from = t->current;

    t->current = to;
    if (unlikely(switch_hook != NULL))
        tell_switch_hook(from, to);
    t->switching_from = from;
    asan_leave(from, &to->asan);
    return from;
}

/* A switch away from a SHARED-stack greenlet. Its frames are copied out
 * when another takes the shared stack, so what lies on it when it parks is
 * what a million parked greenlets cost: this is a function of its own that
 * keeps nothing live across the switch (it finds the thread again after),
 * and without ASan it ends in a tail call, so its own frame is not among
 * those saved. It calls the out-of-line switch: the inline one, where it
 * is built without CL_NO_RED_ZONE (switch.h), would leave the 128-byte red
 * zone in the copied frames.
 *
 * Nothing to do on arrival without ASan: a greenlet whose stack must be
 * released after its death never switches straight into a SHARED one
 * (switch_slow sends it through the restorer, which releases first). */
static __attribute__((noinline)) void *switch_from_shared(greenlet *to,
                                                          void *value)
{
    struct greenlet_thread *t = gt;
    greenlet *from = leave_shared(t, to);
#ifdef CL_ASAN
    value = cl_ctx_switch(&from->ctx, &to->ctx, value);
    t = gt;
    asan_arrive(t, &t->current->asan);
    if (unlikely(t->release != NULL))
        release_dead(t);
    return value;
#else
    return cl_ctx_switch(&from->ctx, &to->ctx, value);
#endif
}

/* The one place a switch from a GUARDED greenlet (or main) happens: from
 * must be running. */
static inline void *do_switch(struct greenlet_thread *t, greenlet *from,
                              greenlet *to, void *value)
{
    if (from->stack_kind == GREENLET_STACK_SHARED)
        return switch_from_shared(to, value);
    t->current = to;
    if (unlikely(switch_hook != NULL))
        tell_switch_hook(from, to);
    t->switching_from = from;
    asan_leave(from, &to->asan);
    if (from->fpu_fixed)
        value = cl_ctx_switch_inline_fixed(&from->ctx, &to->ctx, value);
    else
        value = cl_ctx_switch_inline(&from->ctx, &to->ctx, value);
    asan_arrive(t, &from->asan);
    if (unlikely(t->release != NULL))
        release_dead(t);
    return value;
}

/* Out of line, so that greenlet_switch_out_ has no frame of its own when
 * it goes to switch_from_shared. */
static __attribute__((noinline)) void *switch_guarded(struct greenlet_thread *t,
                                                      greenlet *from,
                                                      greenlet *to, void *value)
{
    return do_switch(t, from, to, value);
}

static void *switch_slow(struct greenlet_thread *t, greenlet *cur,
                         greenlet *g, void *value);

void *greenlet_switch_out_(greenlet *g, void *value)
{
    struct greenlet_thread *t = gt;
    greenlet *cur;

    if (unlikely(g->thread != t)) {
        errno = EPERM;
        return GREENLET_ERROR;
    }
    cur = t->current;
    if (likely(g->state == GREENLET_ACTIVE &&
               g->stack_kind == GREENLET_STACK_GUARDED && g != cur)) {
        if (cur->stack_kind == GREENLET_STACK_SHARED) /* parking: no frame */
            return switch_from_shared(g, value);
        return switch_guarded(t, cur, g, value);
    }
    return switch_slow(t, cur, g, value);
}

/* greenlet_switch_out_ for a caller resumed with an int (greenlet.h). From
 * a SHARED greenlet to a started GUARDED one (a task parking in the hub),
 * it ends in a tail call to the switch itself: nothing of it, nor of its
 * caller if that too ends in a tail call here, is left among the frames
 * saved while the greenlet waits. */
int greenlet_switch_int_(greenlet *g, void *value)
{
#if !defined(CL_ASAN)
    struct greenlet_thread *t = gt;
    greenlet *cur = t->current;

    if (likely(g->thread == t && g->state == GREENLET_ACTIVE &&
               g->stack_kind == GREENLET_STACK_GUARDED && g != cur &&
               cur->stack_kind == GREENLET_STACK_SHARED)) {
        cur = leave_shared(t, g);
        return cl_ctx_switch_int(&cur->ctx, &g->ctx, value);
    }
#endif
    value = greenlet_switch_out_(g, value);
    return value == GREENLET_ERROR ? -1 : (int)(intptr_t)value;
}

static int start_guarded(greenlet *g)
{
    if (!g->stack) { /* greenlet_init could get none */
        errno = ENOMEM;
        return -1;
    }
    cl_ctx_make(&g->ctx, g->stack->base, g->stack->size, entry, g);
    cl_fiber_set_stack(&g->asan, g->stack->base, g->stack->size);
    g->state = GREENLET_ACTIVE;
    g->fast = g->fpu_fixed ? 2 : 1;
    return 0;
}

static char *shared_top(struct greenlet_thread *t)
{
    return t->shared->base + t->shared->size;
}

/* Copy live frames to or from the shared stack. Under ASan the redzones
 * between frames are part of what is copied, so no instrumented reads
 * (and no memcpy, which ASan checks). */
static CL_NO_ASAN void copy_frames(char *dst, const char *src, size_t n)
{
#ifdef CL_ASAN
    volatile char *d = dst; /* stop the compiler turning this into memcpy */
    while (n--)
        *d++ = *src++;
#else
    memcpy(dst, src, n);
#endif
}

static void shared_evict(struct greenlet_thread *t)
{
    greenlet *o = t->shared_owner;
    char *sp;
    size_t n;

    t->shared_owner = NULL;
    if (!o || o->state != GREENLET_ACTIVE)
        return;
    sp = cl_ctx_sp(&o->ctx) - CL_CTX_SP_MARGIN;
    n = (size_t)(shared_top(t) - sp);
    /* A block of exactly n's size class (the capacity is not kept: it is
     * cl_slabs_cap(saved_len)); the same one again when it parks at a
     * depth of the same class, as it usually does. */
    if (!o->saved || cl_slabs_cap(n) != cl_slabs_cap(o->saved_len)) {
        size_t cap;
        char *p = cl_slabs_alloc(t->blocks, n, &cap);
        if (!p)
            fatal(_("out of memory saving a shared-stack greenlet"));
        saved_free(t, o);
        o->saved = p;
    }
    copy_frames(o->saved, sp, n);
    o->saved_len = (unsigned)n;
}

static void shared_install(struct greenlet_thread *t, greenlet *g)
{
    /* Frames of evicted or dead greenlets left their redzones in the
     * shadow, where g's frames are about to go: start from a clean stack. */
    cl_asan_unpoison(t->shared->base, t->shared->size);
    if (g->state == GREENLET_NEW) {
#if defined(CL_HAVE_CTX_MAKE_THEN) && !defined(CL_ASAN)
        /* Straight into run, without entry's frame under it (16 bytes
         * less saved while it waits): a SHARED greenlet has nothing to do
         * on arrival (see switch_from_shared). */
        cl_ctx_make_then(&g->ctx, t->shared->base, t->shared->size, g->run,
                         g->arg, leave_dead);
#else
        cl_ctx_make(&g->ctx, t->shared->base, t->shared->size, entry, g);
#endif
        g->state = GREENLET_ACTIVE;
    } else {
        char *at = shared_top(t) - g->saved_len;
        cl_valgrind_make_undefined(at, g->saved_len);
        copy_frames(at, g->saved, g->saved_len);
    }
    t->shared_owner = g;
}

static void restorer_main(void *arg, void *value)
{
    struct greenlet_thread *t = arg;
    asan_arrive(t, NULL);
    for (;;) {
        greenlet *to = t->restore_to;
        int saved_errno = errno; /* to's, maybe (tell_switch_hook) */
        if (t->release)
            release_dead(t);
        if (t->shared_owner != to) {
            shared_evict(t);
            shared_install(t, to);
        }
        errno = saved_errno;
        t->current = to;
        t->switching_from = NULL;
        cl_fiber_leave(&t->restorer_asan, &to->asan);
        value = cl_ctx_switch(&t->restorer, &to->ctx, value);
        asan_arrive(t, &t->restorer_asan);
    }
}

static int ensure_shared(struct greenlet_thread *t)
{
    if (t->shared)
        return 0;
    t->shared = cl_stack_get(SHARED_STACK_SIZE);
    t->restorer_stack = cl_stack_get(RESTORER_STACK_SIZE);
    if (!t->shared || !t->restorer_stack) {
        cl_stack_put(t->shared);
        cl_stack_put(t->restorer_stack);
        t->shared = t->restorer_stack = NULL;
        errno = ENOMEM;
        return -1;
    }
    t->shared->owner = t;             /* named by who runs on it */
    t->restorer_stack->owner = t;
    cl_fiber_set_stack(&t->shared_asan, t->shared->base, t->shared->size);
    cl_fiber_set_stack(&t->restorer_asan, t->restorer_stack->base,
                       t->restorer_stack->size);
    cl_ctx_make(&t->restorer, t->restorer_stack->base,
                t->restorer_stack->size, restorer_main, t);
    return 0;
}

static void *switch_slow(struct greenlet_thread *t, greenlet *cur,
                         greenlet *g, void *value)
{
    while (g->state == GREENLET_DEAD) /* main never dies: this ends */
        g = g->parent;
    if (g == cur)
        return value;
    if (g->stack_kind == GREENLET_STACK_GUARDED) {
        if (g->state == GREENLET_NEW && start_guarded(g) != 0)
            return GREENLET_ERROR;
        return do_switch(t, cur, g, value);
    }
    /* A greenlet whose stack waits to be released (it is dying on it)
     * goes through the restorer too, which releases it first: a SHARED
     * greenlet does nothing on arrival (switch_from_shared). */
    if (t->shared_owner == g && t->release == NULL)
        return do_switch(t, cur, g, value);
    if (ensure_shared(t) != 0)
        return GREENLET_ERROR;
    g->asan = t->shared_asan;
    if (cur->stack_kind != GREENLET_STACK_SHARED && t->release == NULL) {
        int saved_errno = errno; /* g's, maybe (tell_switch_hook) */
        shared_evict(t);
        shared_install(t, g);
        errno = saved_errno;
        return do_switch(t, cur, g, value);
    }
    /* We run on the shared stack ourselves: let the restorer swap it. */
    t->restore_to = g;
    t->current = NULL;
    if (unlikely(switch_hook != NULL))
        tell_switch_hook(cur, g);
    t->switching_from = cur;
    asan_leave(cur, &t->restorer_asan);
    value = cl_ctx_switch(&cur->ctx, &t->restorer, value);
    asan_arrive(t, &cur->asan);
    if (unlikely(t->release != NULL))
        release_dead(t);
    return value;
}

/* A greenlet that starts right after another died: release the dead
 * one's stack first (kept out of entry: see there). */
static __attribute__((noinline, noreturn)) void entry_releasing(greenlet *g,
                                                                void *value)
{
    release_dead(g->thread);
    leave_dead(g->run(g->arg, value));
}

/* Every greenlet starts here (via cl_ctx_make) and leaves from here. Its
 * frame is under every frame a SHARED greenlet saves when it parks, so it
 * keeps nothing live across run (the greenlet is found again after, in
 * leave_dead) and calls nothing before it on the usual path: that keeps
 * its frame to the return address and the alignment. */
static void entry(void *arg, void *value)
{
    greenlet *g = arg;

    asan_arrive(g->thread, NULL);
    if (unlikely(g->thread->release != NULL))
        entry_releasing(g, value);
    leave_dead(g->run(g->arg, value));
}

/* The running greenlet's run returned result: it is dead. */
static __attribute__((noinline, noreturn)) void leave_dead(void *result)
{
    struct greenlet_thread *t = gt;
    greenlet *g = t->current;

    g->result = result;
    g->state = GREENLET_DEAD;
    g->fast = 0;
    if (g->stack_kind == GREENLET_STACK_GUARDED) {
        if (t->release) /* an earlier death nobody has cleaned up after */
            release_dead(t);
        t->release = g;
    } else {
        if (t->shared_owner == g)
            t->shared_owner = NULL;
        saved_free(t, g);
    }
    switch_slow(t, g, g->parent, g->result); /* it skips dead parents */
    fatal(_("a dead greenlet was resumed, or its parent could not be started"));
}
