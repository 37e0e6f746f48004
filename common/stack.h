/*
 * stack.h - coroutine stacks: mmap'd, with a PROT_NONE guard region below,
 * recycled through a per-thread pool, and registered with valgrind.
 *
 * A fault anywhere in the guard region of a stack in use is caught on an
 * alternate signal stack and ends the process (status 70) with a message
 * naming the stack's owner and its size, instead of silently running into
 * the neighbouring mapping. The guard is 64 KiB by default: address space
 * only, it costs no memory. A frame bigger than the guard could still step
 * over it, which is why the build uses -fstack-clash-protection: the
 * compiler then touches every page of a big frame or alloca in order, so
 * the first touch below the stack lands in the guard.
 */
#ifndef CL_STACK_H
#define CL_STACK_H

#include <stddef.h>

#include "list.h"

#define CL_STACK_DEFAULT_SIZE (256 * 1024)
#define CL_STACK_DEFAULT_GUARD (64 * 1024)

typedef struct cl_stack {
    char *base;          /* lowest usable byte (just above the guard) */
    size_t size;         /* usable bytes */
    size_t guard;        /* PROT_NONE bytes below base */
    unsigned vg_id;      /* valgrind's id for the registered stack */
    void *owner;         /* who runs on it, for the overflow message (the
                          * greenlet layer sets it; NULL: nobody) */
    struct cl_stack *next_free;          /* in the pool */
    struct cl_list live_link;            /* this thread's mapped stacks */
} cl_stack;

/* A stack of at least size usable bytes (0: CL_STACK_DEFAULT_SIZE) above a
 * guard of at least guard bytes (0: CL_STACK_DEFAULT_GUARD); NULL with
 * errno ENOMEM when it cannot be mapped (out of address space or of the
 * kernel's mappings, vm.max_map_count). Stacks of the default size and
 * guard come from (and go back to) the pool. A stack belongs to the thread
 * that got it: put it back from that thread. */
cl_stack *cl_stack_get(size_t size);
cl_stack *cl_stack_get_guarded(size_t size, size_t guard);
void cl_stack_put(cl_stack *st);

/* How the overflow handler names a stack's owner (see cl_stack.owner):
 * the greenlet layer registers a function that writes "greenlet 'NAME'".
 * It runs in a signal handler: no locks, no allocation. */
typedef void (*cl_stack_namer)(const cl_stack *st, char *name, size_t len);
void cl_stack_set_namer(cl_stack_namer namer);

/* Install the guard handler and this thread's alternate signal stack
 * (idempotent; the greenlet layer calls it when a thread first uses it). */
int cl_stack_thread_init(void);

/* The page size, cached. */
size_t cl_page_size(void);

#endif
