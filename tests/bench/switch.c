/*
 * switch - what one context switch costs: the core's greenlet switch beside
 * swapcontext and three hand-made baselines, measured in the same run.
 *
 * Each mechanism ping-pongs between two contexts: the timed loop switches
 * to a peer that switches straight back, so one round trip is two switches.
 * Every mechanism is timed in turn, again and again, and its best run is
 * kept: the machine is shared and noisy, and the best run is the one the
 * noise touched least. Prints "NAME: X ns/switch" per mechanism, then ratio
 * lines. See README.md for what each line means and the targets.
 *
 *   greenlet             greenlet_switch(g, v), the call a lesson makes
 *   ucontext             swapcontext (a sigprocmask system call per switch)
 *   bare-asm             bare_x86_64.S: push 6 registers, swap rsp, pop, ret
 *   inline-asm           an inline asm switch; the compiler saves only the
 *                        registers live across it (no FPU state kept)
 *   cl_ctx_switch        the core's raw switch, without the greenlet layer
 *   cl_ctx_switch_inline the same, inlined (what greenlet_switch uses)
 *   fcontext             Boost.Context's jump_fcontext (libboost-context-dev),
 *                        the yardstick: it stores and loads the x87 control
 *                        word and MXCSR on every switch, as the core must
 */
#include "cli.h"
#include "greenlet.h"
#include "sanitize.h"
#include "switch.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <ucontext.h>

#define STACK_SIZE (64 * 1024)

static bool quick, list;
static long reps;           /* 0: 21, or 3 with --quick */
static long fixed_switches; /* --switches: one run of exactly this many */
static const char *only;

static const cl_option options[] = {
    {"quick", 'q', CL_OPT_FLAG, &quick, NULL,
     "a short, rough run (CI smoke test)", 0, 0},
    {"reps", 'r', CL_OPT_INT, &reps, "N",
     "time each mechanism N times, keep the best (default 21)", 1, 1000},
    {"list", 'l', CL_OPT_FLAG, &list, NULL,
     "list the mechanisms this build has, and exit", 0, 0},
    {"only", 'o', CL_OPT_STRING, &only, "NAME",
     "measure only the mechanism NAME", 0, 0},
    {"switches", 'n', CL_OPT_INT, &fixed_switches, "N",
     "no calibration: make exactly N switches once (for callgrind)", 2,
     1e10},
    {0},
};

static const cl_program prog = {
    .name = "switch",
    .summary = "Nanoseconds per context switch: greenlet_switch, swapcontext "
               "and baselines.",
    .details = "Prints \"NAME: X ns/switch\" for each mechanism (see --list), "
               "then ratio lines.",
    .options = options,
    .max_args = 0,
};

static void *stack_alloc(void)
{
    void *p = aligned_alloc(64, STACK_SIZE);
    if (!p)
        cl_err_exit("allocating a stack");
    return p;
}

/* ---- greenlet: main <-> one greenlet, both through greenlet_switch ---- */

static greenlet *gl_peer;

static void *gl_peer_run(void *main_greenlet, void *value)
{
    for (;;)
        value = greenlet_switch(main_greenlet, value);
    return NULL;
}

static void gl_setup(void)
{
    gl_peer = greenlet_new(gl_peer_run, greenlet_current(), NULL);
    if (!gl_peer)
        cl_err_exit("greenlet_new");
    /* The first switch starts it (slow path); later ones are the fast path. */
    if (greenlet_switch(gl_peer, NULL) == GREENLET_ERROR)
        cl_err_exit("greenlet_switch");
}

static void gl_loop(long n)
{
    for (long i = 0; i < n; i++)
        if (greenlet_switch(gl_peer, (void *)i) != (void *)i)
            cl_fatal("greenlet: wrong value back");
}

static void gl_teardown(void)
{
    greenlet_free(gl_peer); /* suspended in its loop: dropped unrun */
}

/* ---- ucontext ---- */

static ucontext_t uc_main, uc_peer;

static void uc_peer_run(void)
{
    for (;;)
        swapcontext(&uc_peer, &uc_main);
}

static void uc_setup(void)
{
    if (getcontext(&uc_peer) != 0)
        cl_err_exit("getcontext");
    uc_peer.uc_stack.ss_sp = stack_alloc();
    uc_peer.uc_stack.ss_size = STACK_SIZE;
    uc_peer.uc_link = NULL;
    makecontext(&uc_peer, uc_peer_run, 0);
}

static void uc_loop(long n)
{
    for (long i = 0; i < n; i++)
        swapcontext(&uc_main, &uc_peer);
}

static void uc_teardown(void)
{
    free(uc_peer.uc_stack.ss_sp);
}

/* ---- the core's raw switch, called, then inlined ---- */

static cl_ctx cc_main, cc_peer;
static void *cc_stack;

static void cc_peer_run(void *arg, void *value)
{
    (void)arg;
    for (;;)
        value = cl_ctx_switch(&cc_peer, &cc_main, value);
}

static void cc_setup(void)
{
    cc_stack = stack_alloc();
    cl_ctx_make(&cc_peer, cc_stack, STACK_SIZE, cc_peer_run, NULL);
}

static void cc_loop(long n)
{
    for (long i = 0; i < n; i++)
        if (cl_ctx_switch(&cc_main, &cc_peer, (void *)i) != (void *)i)
            cl_fatal("cl_ctx_switch: wrong value back");
}

static void cc_teardown(void)
{
    free(cc_stack);
}

#if defined(CL_HAVE_INLINE_SWITCH)
static cl_ctx cci_main, cci_peer;
static void *cci_stack;

static void cci_peer_run(void *arg, void *value)
{
    (void)arg;
    for (;;)
        value = cl_ctx_switch_inline(&cci_peer, &cci_main, value);
}

static void cci_setup(void)
{
    cci_stack = stack_alloc();
    cl_ctx_make(&cci_peer, cci_stack, STACK_SIZE, cci_peer_run, NULL);
}

static void cci_loop(long n)
{
    for (long i = 0; i < n; i++)
        if (cl_ctx_switch_inline(&cci_main, &cci_peer, (void *)i) != (void *)i)
            cl_fatal("cl_ctx_switch_inline: wrong value back");
}

static void cci_teardown(void)
{
    free(cci_stack);
}
#endif

#if defined(CL_HAVE_BOOST_CONTEXT)
/* ---- fcontext: Boost.Context's switch, declared as its C ABI is ---- */

typedef void *fcontext_t;
typedef struct {
    fcontext_t fctx;
    void *data;
} transfer_t;
transfer_t jump_fcontext(fcontext_t to, void *vp);
fcontext_t make_fcontext(void *sp, size_t size, void (*fn)(transfer_t));

static fcontext_t fc_peer;
static void *fc_stack;

static void fc_peer_run(transfer_t t)
{
    for (;;)
        t = jump_fcontext(t.fctx, t.data);
}

static void fc_setup(void)
{
    fc_stack = stack_alloc();
    /* fcontext takes the top of the stack. */
    fc_peer = make_fcontext((char *)fc_stack + STACK_SIZE, STACK_SIZE,
                            fc_peer_run);
}

static void fc_loop(long n)
{
    for (long i = 0; i < n; i++) {
        transfer_t t = jump_fcontext(fc_peer, (void *)i);
        fc_peer = t.fctx;
        if (t.data != (void *)i)
            cl_fatal("fcontext: wrong value back");
    }
}

static void fc_teardown(void)
{
    free(fc_stack); /* the peer is suspended in its loop: dropped */
}
#endif

#if defined(__x86_64__)
/* ---- bare-asm: bare_x86_64.S ---- */

void bare_switch(void **save_sp, void *load_sp);
void bare_start(void);

static void *bare_main_sp, *bare_peer_sp, *bare_stack;

static void bare_peer_run(void *arg)
{
    (void)arg;
    for (;;)
        bare_switch(&bare_peer_sp, bare_main_sp);
}

static void bare_setup(void)
{
    uintptr_t top;
    uint64_t *sp;

    bare_stack = stack_alloc();
    top = ((uintptr_t)bare_stack + STACK_SIZE) & ~(uintptr_t)15;
    /* r15 r14 r13 r12 rbx rbp, bare_start, then 16 zero bytes; rsp is
     * 16-aligned when bare_start calls entry. */
    sp = (uint64_t *)(top - 72);
    memset(sp, 0, 72);
    sp[3] = (uint64_t)(uintptr_t)NULL;          /* r12: arg */
    sp[4] = (uint64_t)(uintptr_t)bare_peer_run; /* rbx: entry */
    sp[6] = (uint64_t)(uintptr_t)bare_start;
    bare_peer_sp = sp;
}

static void bare_loop(long n)
{
    for (long i = 0; i < n; i++)
        bare_switch(&bare_main_sp, bare_peer_sp);
}

static void bare_teardown(void)
{
    free(bare_stack);
}

/* ---- inline-asm: the switch written into the caller ----
 *
 * Everything but rsp and rbp is declared clobbered, so the compiler spills
 * only what is live across the switch, around it, in the caller's frame.
 * The switch itself keeps rbp (it cannot be declared clobbered when it is
 * the frame pointer) and the resume address: push, swap rsp, pop, jump.
 * The jump lands back in the same inlined copy, so each site's indirect
 * jump always goes to the same place. Unlike the core it keeps no FPU
 * control state: this is the floor. 128 bytes are skipped first so the
 * pushes do not land in the caller's red zone. */
static void *inl_main_sp, *inl_peer_sp, *inl_stack;

static inline __attribute__((always_inline)) void inl_switch(void **save_sp,
                                                             void *load_sp)
{
    __asm__ volatile(
        "leaq    -128(%%rsp), %%rsp\n\t"
        "pushq   %%rbp\n\t"
        "leaq    1f(%%rip), %%rax\n\t"
        "pushq   %%rax\n\t"
        "movq    %%rsp, (%0)\n\t"
        "movq    %1, %%rsp\n\t"
        "popq    %%rax\n\t"
        "jmpq    *%%rax\n"
        "1:\n\t"
        "popq    %%rbp\n\t"
        "leaq    128(%%rsp), %%rsp"
        : "+D"(save_sp), "+S"(load_sp)
        :
        : "rax", "rbx", "rcx", "rdx", "r8", "r9", "r10", "r11", "r12",
          "r13", "r14", "r15", "memory", "cc", "xmm0", "xmm1", "xmm2",
          "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10",
          "xmm11", "xmm12", "xmm13", "xmm14", "xmm15", "st", "st(1)",
          "st(2)", "st(3)", "st(4)", "st(5)", "st(6)", "st(7)");
}

/* Reached by the jump of the first switch, with rsp as just after a call. */
static __attribute__((noinline, noreturn, used)) void inl_peer_run(void)
{
    for (;;)
        inl_switch(&inl_peer_sp, inl_main_sp);
}

static void inl_setup(void)
{
    uintptr_t top;
    uint64_t *sp;

    inl_stack = stack_alloc();
    top = ((uintptr_t)inl_stack + STACK_SIZE) & ~(uintptr_t)15;
    sp = (uint64_t *)(top - 32); /* resume address, then zeros */
    memset(sp, 0, 32);
    sp[0] = (uint64_t)(uintptr_t)inl_peer_run;
    inl_peer_sp = sp;
}

static void inl_loop(long n)
{
    for (long i = 0; i < n; i++)
        inl_switch(&inl_main_sp, inl_peer_sp);
}

static void inl_teardown(void)
{
    free(inl_stack);
}
#endif

/* ---- the harness ---- */

typedef struct mech {
    const char *name;
    void (*setup)(void);
    void (*loop)(long round_trips);
    void (*teardown)(void);
    long round_trips; /* per timed run, after calibration */
    double best;      /* ns per switch */
    bool on;
} mech;

static mech mechs[] = {
    {"greenlet", gl_setup, gl_loop, gl_teardown, 0, 0, 0},
    {"ucontext", uc_setup, uc_loop, uc_teardown, 0, 0, 0},
#if defined(__x86_64__)
    {"bare-asm", bare_setup, bare_loop, bare_teardown, 0, 0, 0},
    {"inline-asm", inl_setup, inl_loop, inl_teardown, 0, 0, 0},
#endif
    {"cl_ctx_switch", cc_setup, cc_loop, cc_teardown, 0, 0, 0},
#if defined(CL_HAVE_INLINE_SWITCH)
    {"cl_ctx_switch_inline", cci_setup, cci_loop, cci_teardown, 0, 0, 0},
#endif
#if defined(CL_HAVE_BOOST_CONTEXT)
    {"fcontext", fc_setup, fc_loop, fc_teardown, 0, 0, 0},
#endif
};
#define NMECHS (sizeof mechs / sizeof mechs[0])

static mech *find(const char *name)
{
    for (size_t i = 0; i < NMECHS; i++)
        if (mechs[i].on && strcmp(mechs[i].name, name) == 0)
            return &mechs[i];
    return NULL;
}

/* Seconds for round_trips round trips. */
static double run(mech *m, long round_trips)
{
    double t0 = cl_now();
    m->loop(round_trips);
    return cl_now() - t0;
}

/* Round trips that take about `seconds`, found by doubling, then scaling. */
static long calibrate(mech *m, double seconds)
{
    long n = 64;
    double t;
    while ((t = run(m, n)) < seconds / 8 && n < (1L << 40))
        n *= 2;
    if (t <= 0)
        return n;
    double scaled = (double)n * seconds / t;
    return scaled < 1 ? 1 : (long)scaled;
}

static void print_ratio(const char *a, const char *b)
{
    mech *ma = find(a), *mb = find(b);
    if (!ma || !mb || mb->best <= 0)
        return;
    double r = ma->best / mb->best;
    printf("ratio %s/%s: %.*fx\n", a, b, r >= 10 ? 1 : 2, r);
}

int main(int argc, char **argv)
{
    cl_parse_args(&prog, argc, argv);
    if (reps == 0)
        reps = quick ? 3 : 21;
    double per_run = quick ? 0.002 : 0.020; /* seconds per timed run */

    for (size_t i = 0; i < NMECHS; i++)
        mechs[i].on = !only || strcmp(only, mechs[i].name) == 0;
    if (only && !find(only))
        cl_usage_err("no mechanism '%s' here (see --list)", only);
    if (list) {
        for (size_t i = 0; i < NMECHS; i++)
            if (mechs[i].on)
                printf("%s\n", mechs[i].name);
        return 0;
    }

    fprintf(stderr, "switch: core switch %s%s; ", CL_SWITCH_NAME,
#if defined(CL_ASAN)
            " (sanitizers on: greenlet_switch takes its slow path, figures are not meaningful)"
#else
            ""
#endif
    );
    if (fixed_switches)
        fprintf(stderr, "one run of %ld switches each\n", fixed_switches);
    else
        fprintf(stderr, "best of %ld runs of ~%.0f ms each\n", reps,
                per_run * 1000);

    /* Read the clock once before any context is made, so that every
     * context starts from the same FPU state (its floating-point
     * arithmetic sets MXCSR's sticky "inexact" flag), as in a real program
     * that has done such arithmetic long before. */
    (void)cl_now();
    for (size_t i = 0; i < NMECHS; i++) {
        mech *m = &mechs[i];
        if (!m->on)
            continue;
        m->setup();
        m->round_trips = fixed_switches ? fixed_switches / 2
                                        : calibrate(m, per_run);
        m->best = 0;
    }
    /* Round robin, so that a noisy moment hurts one run of each, not all
     * the runs of one mechanism. */
    for (long r = 0; r < (fixed_switches ? 1 : reps); r++) {
        for (size_t i = 0; i < NMECHS; i++) {
            mech *m = &mechs[i];
            if (!m->on)
                continue;
            double ns = run(m, m->round_trips) * 1e9 /
                        (2.0 * (double)m->round_trips);
            if (m->best == 0 || ns < m->best)
                m->best = ns;
        }
    }
    for (size_t i = 0; i < NMECHS; i++)
        if (mechs[i].on) {
            printf("%s: %.2f ns/switch\n", mechs[i].name, mechs[i].best);
            mechs[i].teardown();
        }
    print_ratio("ucontext", "greenlet");
    print_ratio("greenlet", "bare-asm");
    print_ratio("greenlet", "inline-asm");
    print_ratio("greenlet", "cl_ctx_switch");
    print_ratio("greenlet", "cl_ctx_switch_inline");
    /* The target: no slower than Boost.Context, which keeps the same FPU
     * control state. */
#if defined(CL_HAVE_BOOST_CONTEXT)
    mech *g = find("greenlet"), *f = find("fcontext");
    if (g && f && f->best > 0)
        printf("greenlet/fcontext %.2fx  (target <= 1.0x)\n", g->best / f->best);
#else
    if (!only || strcmp(only, "greenlet") == 0)
        printf("boost baseline: not installed (apt-get install "
               "libboost-context-dev)\n");
#endif
    return 0;
}
