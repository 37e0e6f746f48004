/* stack.c - guarded, pooled coroutine stacks and the overflow handler. */
#include "stack.h"
#include "sanitize.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

/* A stack is taken when its greenlet is made, so a batch of N spawns holds
 * N stacks at once, and giving them back with munmap costs far more than
 * mapping them (tens of microseconds each on a VM: the TLB shootdown):
 * tests/bench/spawn's guarded batch ran ~300x slower with a pool of 64.
 * So the pool keeps every stack given back, up to more than the kernel's
 * default mapping limit lets a thread have (65,530 maps, two per stack):
 * a thread keeps the stacks of its peak, each holding the pages its
 * greenlets touched, as glibc keeps the stacks of ended threads. The
 * guard is made once per mapping, never again on reuse. */
#define POOL_MAX 65536

static __thread cl_stack *pool;
static __thread unsigned pool_len;
/* Every stack this thread has mapped and not unmapped: where the overflow
 * handler looks for the guard a fault landed in. */
static __thread struct cl_list live; /* of cl_stack.live_link; set up at first use */

static cl_stack_namer namer;
static __thread void *altstack;

static size_t page_size;

size_t cl_page_size(void)
{
    if (!page_size)
        page_size = (size_t)sysconf(_SC_PAGESIZE);
    return page_size;
}

static size_t round_to_pages(size_t n)
{
    size_t page = cl_page_size();
    return (n + page - 1) & ~(page - 1);
}

static cl_stack *stack_map(size_t size, size_t guard)
{
    size_t usable = round_to_pages(size);
    char *map;
    cl_stack *st;

    guard = round_to_pages(guard);
    if (usable < size || usable + guard < usable) { /* wrapped around */
        errno = ENOMEM;
        return NULL;
    }
    /* Mapped inaccessible, then the usable part opened: one call fewer
     * than mapping it all and closing the guard, the same two mappings. */
    map = mmap(NULL, usable + guard, PROT_NONE,
               MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (map == MAP_FAILED) {
        errno = ENOMEM; /* whatever the kernel said, there is no stack */
        return NULL;
    }
    if (mprotect(map + guard, usable, PROT_READ | PROT_WRITE) != 0) {
        munmap(map, usable + guard);
        errno = ENOMEM; /* the mapping count limit says ENOMEM here too */
        return NULL;
    }
    st = malloc(sizeof *st);
    if (!st) {
        munmap(map, usable + guard);
        errno = ENOMEM;
        return NULL;
    }
    st->base = map + guard;
    st->size = usable;
    st->guard = guard;
    st->vg_id = cl_valgrind_stack_register(st->base, st->base + usable);
    st->owner = NULL;
    st->next_free = NULL;
    if (!live.next)
        cl_list_init(&live);
    cl_list_push_front(&live, &st->live_link);
    return st;
}

static void stack_unmap(cl_stack *st)
{
    cl_list_remove(&st->live_link);
    cl_valgrind_stack_deregister(st->vg_id);
    /* ASan's shadow outlives the mapping: the next stack mapped here
     * would start with the redzones of frames that died on this one. */
    cl_asan_unpoison(st->base, st->size);
    munmap(st->base - st->guard, st->size + st->guard);
    free(st);
}

/* A thread's pooled stacks are unmapped when it exits: nothing else can
 * reach them then. The key's value only makes the destructor run. */
static pthread_key_t pool_key;
static pthread_once_t pool_key_once = PTHREAD_ONCE_INIT;

static void pool_drain(void *unused)
{
    (void)unused;
    while (pool) {
        cl_stack *st = pool;
        pool = st->next_free;
        stack_unmap(st);
    }
    pool_len = 0;
}

static void make_pool_key(void)
{
    pthread_key_create(&pool_key, pool_drain);
}

static bool pooled_kind(size_t size, size_t guard)
{
    return size == CL_STACK_DEFAULT_SIZE && guard == CL_STACK_DEFAULT_GUARD;
}

cl_stack *cl_stack_get_guarded(size_t size, size_t guard)
{
    if (size == 0)
        size = CL_STACK_DEFAULT_SIZE;
    if (guard == 0)
        guard = CL_STACK_DEFAULT_GUARD;
    if (pooled_kind(size, guard) && pool) {
        cl_stack *st = pool;
        pool = st->next_free;
        pool_len--;
        return st;
    }
    return stack_map(size, guard);
}

cl_stack *cl_stack_get(size_t size)
{
    return cl_stack_get_guarded(size, 0);
}

void cl_stack_put(cl_stack *st)
{
    if (!st)
        return;
    st->owner = NULL;
    if (pooled_kind(st->size, st->guard) && pool_len < POOL_MAX) {
        /* Frames that died with their coroutine leave poisoned shadow. */
        cl_asan_unpoison(st->base, st->size);
        if (!pool) {
            pthread_once(&pool_key_once, make_pool_key);
            pthread_setspecific(pool_key, st);
        }
        st->next_free = pool;
        pool = st;
        pool_len++;
        return;
    }
    stack_unmap(st);
}

void cl_stack_set_namer(cl_stack_namer n)
{
    namer = n;
}

/* ---- the overflow handler: async-signal-safe calls only ---- */

/* A raw system call: a program that interposes write() (the monkey patch
 * does) must not be entered from a signal handler on a broken stack. */
static void say(const char *s)
{
    long r = syscall(SYS_write, STDERR_FILENO, s, strlen(s));
    (void)r;
}

static void fmt_size(char *buf, size_t n)
{
    char tmp[24];
    int i = 0, j = 0;
    do {
        tmp[i++] = (char)('0' + n % 10);
        n /= 10;
    } while (n);
    while (i)
        buf[j++] = tmp[--i];
    buf[j] = '\0';
}

/* The stack in use whose guard holds addr, looked up among all of this
 * thread's stacks rather than taken from "the current greenlet": the fault
 * names the stack it really hit, whatever the bookkeeping says (the shared
 * stack, the restorer's, a switch half done). */
static const cl_stack *overflowed_stack(const char *addr)
{
    if (!live.next)
        return NULL;
    for (const struct cl_list *l = live.next; l != &live; l = l->next) {
        const cl_stack *st = cl_container_of(l, const cl_stack, live_link);
        if (st->owner && addr >= st->base - st->guard && addr < st->base)
            return st;
    }
    return NULL;
}

static struct sigaction prev_segv, prev_bus;

static void on_fault(int sig, siginfo_t *si, void *uc)
{
    const cl_stack *st = overflowed_stack(si->si_addr);

    if (st) {
        char name[96], num[24];
        if (namer)
            namer(st, name, sizeof name);
        else
            strcpy(name, "a coroutine");
        say("corolab: stack overflow in ");
        say(name);
        say(" (stack size ");
        fmt_size(num, st->size);
        say(num);
        say(" bytes); give it a bigger stack\n");
        _exit(70); /* EX_SOFTWARE */
    }
    /* Not ours: hand it on as if we had never been installed. */
    struct sigaction *prev = sig == SIGSEGV ? &prev_segv : &prev_bus;
    if (prev->sa_flags & SA_SIGINFO && prev->sa_sigaction) {
        prev->sa_sigaction(sig, si, uc);
        return;
    }
    if (prev->sa_handler != SIG_DFL && prev->sa_handler != SIG_IGN &&
        !(prev->sa_flags & SA_SIGINFO)) {
        prev->sa_handler(sig);
        return;
    }
    signal(sig, SIG_DFL); /* returning re-runs the access, which now dumps */
}

static void install_handler(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_fault;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGSEGV, &sa, &prev_segv);
    sigaction(SIGBUS, &sa, &prev_bus);
}

int cl_stack_thread_init(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    stack_t ss, old;
    size_t size = 64 * 1024;

    pthread_once(&once, install_handler);
    if (altstack)
        return 0;
    /* Keep an alternate stack someone else installed. */
    if (sigaltstack(NULL, &old) == 0 && !(old.ss_flags & SS_DISABLE)) {
        altstack = old.ss_sp;
        return 0;
    }
    altstack = mmap(NULL, size, PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (altstack == MAP_FAILED) {
        altstack = NULL;
        return -1;
    }
    ss.ss_sp = altstack;
    ss.ss_size = size;
    ss.ss_flags = 0;
    return sigaltstack(&ss, NULL);
}
