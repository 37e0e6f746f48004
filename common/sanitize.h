/*
 * sanitize.h - what AddressSanitizer and valgrind must be told about
 * stacks and switches, as helpers that compile to nothing when neither
 * tool is in use: the code that calls them has no #ifdef of its own.
 * Internal to common/.
 */
#ifndef CL_SANITIZE_H
#define CL_SANITIZE_H

#include <stddef.h>

#if defined(__SANITIZE_ADDRESS__)
#define CL_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CL_ASAN 1
#endif
#endif

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>) && !defined(CL_NO_VALGRIND)
#include <valgrind/memcheck.h>
#include <valgrind/valgrind.h>
#define CL_VALGRIND 1
#endif
#endif

/* ---- AddressSanitizer: fibers ----
 *
 * ASan must be told on every switch which stack is about to run
 * (cl_fiber_leave) and when the switch has landed (cl_fiber_arrive), or it
 * takes frames of one stack for overflows of another. A cl_fiber is what
 * it needs to know of one context: empty (size 0) without ASan. */
#ifdef CL_ASAN
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#define CL_NO_ASAN __attribute__((no_sanitize_address))

typedef struct cl_fiber {
    const void *bottom; /* its stack, once known */
    size_t size;
    void *fake;         /* ASan's fake stack while it is suspended */
} cl_fiber;

static inline void cl_fiber_set_stack(cl_fiber *f, const void *bottom,
                                      size_t size)
{
    f->bottom = bottom;
    f->size = size;
}

/* About to switch from `from` (NULL when it will never run again) to a
 * context running on `to`'s stack. */
static inline void cl_fiber_leave(cl_fiber *from, const cl_fiber *to)
{
    __sanitizer_start_switch_fiber(from ? &from->fake : NULL, to->bottom,
                                   to->size);
}

/* Landed in `self` (NULL for a context's first run). The stack just left
 * is learnt into `left` if it had none recorded (a thread's main stack is
 * only known once left). */
static inline void cl_fiber_arrive(cl_fiber *self, cl_fiber *left)
{
    const void *bottom;
    size_t size;
    __sanitizer_finish_switch_fiber(self ? self->fake : NULL, &bottom, &size);
    if (left && !left->bottom)
        cl_fiber_set_stack(left, bottom, size);
}

/* Frames abandoned on a stack leave poisoned redzones behind. */
static inline void cl_asan_unpoison(const void *p, size_t n)
{
    __asan_unpoison_memory_region(p, n);
}
#else
#define CL_NO_ASAN
typedef struct cl_fiber {
} cl_fiber; /* GNU C: an empty struct takes no room */
static inline void cl_fiber_set_stack(cl_fiber *f, const void *b, size_t n)
{
    (void)f, (void)b, (void)n;
}
static inline void cl_fiber_leave(cl_fiber *from, const cl_fiber *to)
{
    (void)from, (void)to;
}
static inline void cl_fiber_arrive(cl_fiber *self, cl_fiber *left)
{
    (void)self, (void)left;
}
static inline void cl_asan_unpoison(const void *p, size_t n)
{
    (void)p, (void)n;
}
#endif

/* ---- valgrind: stacks ---- */

/* valgrind must know where each stack is, or it takes a switch for a
 * huge stack frame. Returns the id to deregister with. */
static inline unsigned cl_valgrind_stack_register(const void *lo,
                                                  const void *hi)
{
#ifdef CL_VALGRIND
    return VALGRIND_STACK_REGISTER(lo, hi);
#else
    (void)lo, (void)hi;
    return 0;
#endif
}

static inline void cl_valgrind_stack_deregister(unsigned id)
{
#ifdef CL_VALGRIND
    VALGRIND_STACK_DEREGISTER(id);
#else
    (void)id;
#endif
}

/* valgrind marks what lies below the stack pointer inaccessible; frames
 * copied back there are live again. */
static inline void cl_valgrind_make_undefined(const void *p, size_t n)
{
#ifdef CL_VALGRIND
    VALGRIND_MAKE_MEM_UNDEFINED(p, n);
#else
    (void)p, (void)n;
#endif
}

/* Running under valgrind? (Signals and stacks behave differently there.) */
static inline int cl_running_on_valgrind(void)
{
#ifdef CL_VALGRIND
    return RUNNING_ON_VALGRIND != 0;
#else
    return 0;
#endif
}

#endif
