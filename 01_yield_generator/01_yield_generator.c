/*
 * 01_yield_generator - a producer and two consumers built from generators.
 *
 * The course's first step: consumer() is a generator that suspends at each
 * `yield` and gets a baozi number back from send(); producer() drives both
 * consumers in turn. The output is byte for byte what the course's Python
 * prints. What it shows: two flows of control interleaved in one thread
 * with no locks. What it does not: a generator only ever returns to whoever
 * resumed it, and nothing switches by itself on I/O (see README.md).
 *
 * Python:
 *     def consumer(name):
 *         print("--->starting eating baozi...")
 *         while True:
 *             new_baozi = yield
 *             print("[%s] is eating baozi %s" % (name, new_baozi))
 */
#include "cli.h"
#include "generator.h"
#include "trace.h"

static long baozi = 5;

static const cl_option options[] = {
    {"baozi", 'n', CL_OPT_INT, &baozi, "N", N_("how many baozi to make (default 5)"), 0, 1000000},
    {0},
};

static const cl_program prog = {
    .name = "01_yield_generator",
    .summary = N_("Producer/consumer with generators: yield, next and send."),
    .options = options,
    .max_args = 0,
};

static generator *con, *con2;

/* con.send(n), or stop the lesson with Python's error if it fails. The
 * trace names the switch after the Python call: next, or send N. */
static void send(generator *gen, void *value)
{
    if (cl_trace_on) {
        if (value)
            cl_trace_why("send %d", GEN_TO_INT(value));
        else
            cl_trace_why("next");
    }
    if (generator_send(gen, value, NULL) < 0)
        cl_fatal("send: %s", generator_strerror(errno));
}

static void consumer(generator *self, void *name)
{
    (void)self;
    printf("--->starting eating baozi...\n");
    for (;;) {
        if (cl_trace_on)
            cl_trace_why("yield");
        int new_baozi = GEN_TO_INT(generator_yield(NULL));
        printf("[%s] is eating baozi %d\n", (const char *)name, new_baozi);
    }
}

static void producer(void)
{
    send(con, NULL); /* con.__next__() */
    send(con2, NULL);
    int n = 0;
    while (n < baozi) {
        n += 1;
        send(con, GEN_INT(n));
        send(con2, GEN_INT(n));
        printf("%s[producer]%s is making baozi %d\n", cl_color(CL_GREEN),
               cl_color(CL_RESET), n);
    }
}

int main(int argc, char **argv)
{
    cl_parse_args(&prog, argc, argv);
    con = generator_new(consumer, "c1");
    con2 = generator_new(consumer, "c2");
    if (!con || !con2)
        cl_err_exit("generator_new");
    if (generator_set_name(con, "c1") != 0 || generator_set_name(con2, "c2") != 0)
        cl_err_exit("generator_set_name"); /* the names --trace shows */
    producer();
    generator_free(con);
    generator_free(con2);
    return 0;
}
