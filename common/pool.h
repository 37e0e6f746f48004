/*
 * pool.h - gevent.pool.Pool: a group of at most `size` greenlets.
 *
 *   pool = Pool(size)              p = hub_pool_new(size)
 *   pool.spawn(f, x)               hub_pool_spawn(p, f, x, NULL)
 *   pool.full(), len(pool)         hub_pool_full(p), hub_pool_count(p)
 *   pool.wait_available(timeout)   hub_pool_wait_available(p, timeout)
 *   pool.join(timeout)             hub_pool_join(p, timeout)
 *   pool.kill(timeout=t)           hub_pool_killall(p, t)
 *
 * A server that gives each connection a greenlet from a pool of
 * `--max-conns` has its connection limit and its "kill them all at exit"
 * in one object. The pool owns its tasks: they are spawned detached and
 * leave the pool (and are freed by the hub) when they end, so the caller
 * must not keep a spawned task's pointer past its end.
 *
 * Blocking calls return 0, or -1 with errno as in hub.h (ETIMEDOUT,
 * ECANCELED, EPERM, EDEADLK, EINVAL for a NaN timeout).
 */
#ifndef CL_POOL_H
#define CL_POOL_H

#include <stdbool.h>
#include <stddef.h>

#include "hub.h"

typedef struct hub_pool hub_pool;

hub_pool *hub_pool_new(size_t size); /* size 0: no limit */
/* Free the pool. It kills nothing: tasks still in it go on as plain
 * detached tasks; greenlets waiting on the pool wake with EBADF. */
void hub_pool_free(hub_pool *p);

/* Spawn fn(arg) into the pool (opts as hub_spawn_with; `detached` is
 * implied), first waiting while the pool is full, as gevent's pool.spawn
 * does. NULL with errno on failure (ECANCELED: the caller was killed while
 * it waited; ENOMEM; EPERM: the pool is full and the caller cannot wait). */
hub_task *hub_pool_spawn(hub_pool *p, hub_fn fn, void *arg,
                         const hub_spawn_opts *opts);

bool hub_pool_full(const hub_pool *p);
size_t hub_pool_count(const hub_pool *p); /* tasks in the pool (not yet ended) */
/* Wait until the pool is not full. */
int hub_pool_wait_available(hub_pool *p, double timeout);
/* Wait until every task of the pool has ended. */
int hub_pool_join(hub_pool *p, double timeout);
/* Kill every task of the pool (hub_kill), then join up to `timeout`. */
int hub_pool_killall(hub_pool *p, double timeout);

#endif
