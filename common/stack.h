/*
 * stack.h - coroutine stacks: mmap'd, with a PROT_NONE guard page below,
 * recycled through a per-thread pool, and registered with valgrind.
 *
 * A fault in a guard page is caught on an alternate signal stack and ends
 * the process with a message naming the coroutine and its stack size,
 * instead of silently running into the neighbouring mapping.
 */
#ifndef CL_STACK_H
#define CL_STACK_H

#include <stddef.h>

#define CL_STACK_DEFAULT_SIZE (256 * 1024)

typedef struct cl_stack {
    char *base;          /* lowest usable byte (just above the guard page) */
    size_t size;         /* usable bytes */
    unsigned vg_id;      /* valgrind's id for the registered stack */
    struct cl_stack *next_free;
} cl_stack;

/* A stack of at least size usable bytes; NULL with errno set on failure.
 * Stacks of the default size come from (and go back to) the pool. */
cl_stack *cl_stack_get(size_t size);
void cl_stack_put(cl_stack *st);

/* How the overflow handler learns which stack the faulting thread runs on
 * and what to call its owner: the greenlet layer registers a function that
 * reads its thread-local "current greenlet", so switches pay nothing for
 * it. It runs in a signal handler: no locks, no allocation. */
typedef const cl_stack *(*cl_stack_locator)(char *name, size_t len);
void cl_stack_set_locator(cl_stack_locator locate);

/* Install the guard-page handler and this thread's alternate signal stack
 * (idempotent; the greenlet layer calls it when a thread first uses it). */
int cl_stack_thread_init(void);

/* The page size, cached. */
size_t cl_page_size(void);

#endif
