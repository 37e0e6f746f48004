/*
 * 02_greenlet_switch - two greenlets handing control to each other.
 *
 * Unlike a generator, a greenlet can switch to any other greenlet, from
 * any depth of calls, without being declared as anything special. test1
 * and test2 pass control back and forth explicitly; the program prints
 * 12, 56, 34, 78. When test2 returns, control goes to its parent (main),
 * and test1 is left suspended after "34", exactly as in Python.
 *
 * Python:
 *     def test1():                 def test2():
 *         print(12)                    print(56)
 *         gr2.switch()                 gr1.switch()
 *         print(34)                    print(78)
 *         gr2.switch()
 *     gr1 = greenlet(test1); gr2 = greenlet(test2); gr1.switch()
 */
#include "cli.h"
#include "greenlet.h"

static const cl_program prog = {
    .name = "02_greenlet_switch",
    .summary = N_("Two greenlets switching explicitly: prints 12, 56, 34, 78."),
    .max_args = 0,
};

static greenlet *gr1, *gr2;

/* gr.switch(), failing loudly rather than silently not switching. */
static void switch_to(greenlet *g)
{
    if (greenlet_switch(g, NULL) == GREENLET_ERROR)
        cl_err_exit(_("switch to %s"), greenlet_name(g, (char[32]){0}, 32));
}

static void *test1(void *arg, void *value)
{
    (void)arg, (void)value;
    printf("12\n");
    switch_to(gr2);
    printf("34\n");
    switch_to(gr2);
    return NULL;
}

static void *test2(void *arg, void *value)
{
    (void)arg, (void)value;
    printf("56\n");
    switch_to(gr1);
    printf("78\n");
    return NULL;
}

int main(int argc, char **argv)
{
    static const greenlet_opts o1 = {.name = "gr1"}, o2 = {.name = "gr2"};

    cl_parse_args(&prog, argc, argv);
    gr1 = greenlet_new_opts(test1, NULL, NULL, &o1);
    gr2 = greenlet_new_opts(test2, NULL, NULL, &o2);
    if (!gr1 || !gr2)
        cl_err_exit("greenlet_new");
    switch_to(gr1);
    greenlet_free(gr1); /* still suspended after "34", as in Python */
    greenlet_free(gr2);
    return 0;
}
