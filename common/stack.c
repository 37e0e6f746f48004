/* stack.c - guarded, pooled coroutine stacks and the overflow handler. */
#include "stack.h"
#include "sanitize.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* A pool big enough that a server spawning and ending greenlets at a steady
 * rate never maps, yet small enough that an idle thread holds little. */
#define POOL_MAX 64

static __thread cl_stack *pool;
static __thread unsigned pool_len;

static cl_stack_locator locator;
static __thread void *altstack;

static size_t page_size;

size_t cl_page_size(void)
{
    if (!page_size)
        page_size = (size_t)sysconf(_SC_PAGESIZE);
    return page_size;
}

static cl_stack *stack_map(size_t size)
{
    size_t page = cl_page_size();
    size_t usable = (size + page - 1) & ~(page - 1);
    char *map = mmap(NULL, usable + page, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    cl_stack *st;

    if (map == MAP_FAILED)
        return NULL;
    if (mprotect(map, page, PROT_NONE) != 0) {
        int e = errno;
        munmap(map, usable + page);
        errno = e;
        return NULL;
    }
    st = malloc(sizeof *st);
    if (!st) {
        munmap(map, usable + page);
        errno = ENOMEM;
        return NULL;
    }
    st->base = map + page;
    st->size = usable;
    st->vg_id = VALGRIND_STACK_REGISTER(st->base, st->base + usable);
    st->next_free = NULL;
    return st;
}

static void stack_unmap(cl_stack *st)
{
    VALGRIND_STACK_DEREGISTER(st->vg_id);
    munmap(st->base - cl_page_size(), st->size + cl_page_size());
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

cl_stack *cl_stack_get(size_t size)
{
    if (size == 0)
        size = CL_STACK_DEFAULT_SIZE;
    if (size == CL_STACK_DEFAULT_SIZE && pool) {
        cl_stack *st = pool;
        pool = st->next_free;
        pool_len--;
        return st;
    }
    return stack_map(size);
}

void cl_stack_put(cl_stack *st)
{
    if (!st)
        return;
    if (st->size == CL_STACK_DEFAULT_SIZE && pool_len < POOL_MAX) {
#ifdef CL_ASAN
        /* Frames that died with their coroutine leave poisoned shadow. */
        __asan_unpoison_memory_region(st->base, st->size);
#endif
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

void cl_stack_set_locator(cl_stack_locator locate)
{
    locator = locate;
}

/* Only async-signal-safe calls from here on. */
static void say(const char *s)
{
    ssize_t r = write(STDERR_FILENO, s, strlen(s));
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

static struct sigaction prev_segv, prev_bus;

static void on_fault(int sig, siginfo_t *si, void *uc)
{
    char name[96];
    const cl_stack *st = locator ? locator(name, sizeof name) : NULL;
    char *addr = si->si_addr;
    size_t page = cl_page_size();

    /* A fault up to a page below the guard is still this stack's overflow:
     * a big frame can step over the guard page. */
    if (st && addr >= st->base - 2 * page && addr < st->base) {
        char num[24];
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
