/*
 * generator.h - layer 2: Python generators on top of greenlets.
 *
 *   def consumer(name):          void consumer(generator *gen, void *name)
 *       new = yield              {   void *v = generator_yield(NULL); ... }
 *   con = consumer("c1")         generator *con = generator_new(consumer, "c1");
 *   next(con)                    generator_next(con, NULL);
 *   con.send(n)                  generator_send(con, GEN_INT(n), NULL);
 *
 * A generator resumes in whoever calls next/send and yields back to that
 * caller, exactly like Python's: that is what makes it a generator and not
 * yet a full coroutine (it cannot switch anywhere it likes; see lesson 01).
 */
#ifndef CL_GENERATOR_H
#define CL_GENERATOR_H

#include <stdbool.h>
#include <stdint.h>

#include "greenlet.h"

typedef struct generator generator;
typedef void (*generator_fn)(generator *gen, void *arg);

/* Results of generator_send/next (negative values are errors, see below). */
enum {
    GEN_YIELDED = 0, /* it yielded a value */
    GEN_DONE = 1,    /* it returned: Python's StopIteration */
};

/* Small integers travel as pointers, like the baozi numbers of lesson 01. */
#define GEN_INT(n) ((void *)(intptr_t)(n))
#define GEN_TO_INT(p) ((int)(intptr_t)(p))

/* NULL with errno ENOMEM when no memory or no stack could be had. */
generator *generator_new(generator_fn fn, void *arg);
/* Name it for traces and messages ("c1"; copied). 0, or -1 with ENOMEM. */
int generator_set_name(generator *gen, const char *name);
void generator_free(generator *gen);

/* Resume gen with value (next() is send(NULL)). On GEN_YIELDED *out gets
 * the yielded value (out may be NULL). Errors return -1 with errno set and
 * change nothing: EINVAL for a non-NULL value sent to a generator that has
 * not started (Python's TypeError), EPIPE for a finished generator,
 * EBUSY for one that is running (ValueError: already executing), EPERM
 * for one made by another thread, ENOMEM when no stack could be had. */
int generator_send(generator *gen, void *value, void **out);
int generator_next(generator *gen, void **out);

/* Inside a generator: hand value to the caller of next/send; returns the
 * value of the send that resumes us. */
void *generator_yield(void *value);

bool generator_finished(const generator *gen);

/* A readable sentence for an errno from generator_send. */
const char *generator_strerror(int err);

#endif
