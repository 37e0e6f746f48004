/* monkey_dns.c - getaddrinfo asks the hub's resolver (resolve.h) while
 * patched; freeaddrinfo frees its lists and hands libc's back to libc
 * (see monkey_impl.h). */
#include "monkey_impl.h"
#include "monkey.h"
#include "hub.h"
#include "resolve.h"

/* gevent.config.resolver_timeout: per thread, like the patch. */
static __thread double resolver_timeout = HUB_FOREVER;

void monkey_set_resolver_timeout(double seconds)
{
    resolver_timeout = seconds < 0 ? HUB_FOREVER : seconds;
}

int getaddrinfo(const char *name, const char *service, const struct addrinfo *hints,
                struct addrinfo **res)
{
    if (!name || !monkey_cooperative())
        return LIBC(getaddrinfo)(name, service, hints, res);
    return hub_getaddrinfo(name, service, hints, res, resolver_timeout);
}

void freeaddrinfo(struct addrinfo *ai)
{
    if (ai && !hub_freeaddrinfo(ai))
        LIBC(freeaddrinfo)(ai);
}
