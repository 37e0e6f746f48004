/* generator.c - yield/next/send over greenlets. */
#include "generator.h"
#include "i18n.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct generator {
    greenlet g; /* first: the running greenlet is the generator */
    generator_fn fn;
    void *arg;
    bool running;
};

static void *gen_run(void *arg, void *value)
{
    generator *gen = arg;
    (void)value;
    gen->fn(gen, gen->arg);
    return NULL;
}

generator *generator_new(generator_fn fn, void *arg)
{
    generator *gen = calloc(1, sizeof *gen);
    if (!gen)
        return NULL;
    if (greenlet_init(&gen->g, gen_run, gen, NULL, NULL) != 0) {
        greenlet_free(&gen->g);
        free(gen);
        errno = ENOMEM;
        return NULL;
    }
    gen->fn = fn;
    gen->arg = arg;
    return gen;
}

int generator_set_name(generator *gen, const char *name)
{
    return greenlet_set_name(&gen->g, name);
}

void generator_free(generator *gen)
{
    if (!gen)
        return;
    /* A suspended generator's frames are dropped (C has no GeneratorExit).
     * A running one (freeing itself) is left alone: we are on its stack. */
    if (greenlet_free(&gen->g) != 0)
        return;
    free(gen);
}

int generator_send(generator *gen, void *value, void **out)
{
    greenlet *me = greenlet_current();
    void *r;

    if (gen->g.thread != me->thread) {
        errno = EPERM;
        return -1;
    }
    if (gen->running) {
        errno = EBUSY;
        return -1;
    }
    if (greenlet_dead(&gen->g)) {
        errno = EPIPE;
        return -1;
    }
    if (!greenlet_started(&gen->g) && value != NULL) {
        errno = EINVAL;
        return -1;
    }
    /* yield goes back to whoever resumed us */
    if (greenlet_set_parent(&gen->g, me) != 0)
        return -1;
    gen->running = true;
    r = greenlet_switch(&gen->g, value);
    gen->running = false;
    /* Suspended or done, it needs no parent until the next send: let go
     * of the resumer, which may be freed before us (a generator driving
     * another, as in test_generator). */
    greenlet_set_parent(&gen->g, greenlet_main());
    if (r == GREENLET_ERROR)
        return -1;
    if (greenlet_dead(&gen->g))
        return GEN_DONE;
    if (out)
        *out = r;
    return GEN_YIELDED;
}

int generator_next(generator *gen, void **out)
{
    return generator_send(gen, NULL, out);
}

void *generator_yield(void *value)
{
    greenlet *me = greenlet_current();
    return greenlet_switch(me->parent, value);
}

bool generator_finished(const generator *gen)
{
    return greenlet_dead(&gen->g);
}

const char *generator_strerror(int err)
{
    switch (err) {
    case EINVAL:
        return _("can't send a non-NULL value to a just-started generator");
    case EPIPE:
        return _("generator already finished (StopIteration)");
    case EBUSY:
        return _("generator already executing");
    case EPERM:
        return _("generator belongs to another thread");
    default:
        return strerror(err);
    }
}
