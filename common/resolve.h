/*
 * resolve.h - layer 3: the hub's resolver, getaddrinfo that waits on the
 * hub (gevent's resolver in C).
 *
 * glibc's getaddrinfo blocks the whole thread while a DNS server thinks:
 * every greenlet stops. hub_getaddrinfo asks libevent's evdns instead, on
 * the calling thread's hub, so the caller waits like hub_wait_fd waits and
 * the others run meanwhile. cosock_connect uses it; so does the getaddrinfo
 * that monkey.o interposes.
 *
 *   Python (gevent)                         C
 *   gevent.socket.getaddrinfo(h, p)         hub_getaddrinfo(h, p, &hints, &res, timeout)
 *   gevent.config.resolver_timeout          the timeout argument
 *
 * What it accepts is what glibc accepts: IPv4 numbers in inet_aton's forms
 * (127.1, 0x7f.1, 2130706433) and IPv6 literals are answered at once,
 * without a question to anyone; other names are looked up in /etc/hosts,
 * then asked of the nameservers of /etc/resolv.conf. "localhost" names are
 * the loopback address even when /etc/hosts forgets them, and ".invalid"
 * names never resolve (RFC 6761). libevent's own log lines about
 * unresponsive nameservers are kept out of the program's output: the
 * caller gets an error code, and says what it wants.
 *
 * The resolver (one evdns_base per thread) is made at the first lookup
 * that needs it, on the hub's event_base, and freed by hub_shutdown()
 * (or earlier, by hub_resolver_free()).
 */
#ifndef CL_RESOLVE_H
#define CL_RESOLVE_H

#include <stdbool.h>
#include <netdb.h>

/* getaddrinfo(3), waiting at most `timeout` seconds (HUB_FOREVER: the
 * resolver's own retries only). Returns 0 or an EAI_* code, as getaddrinfo
 * does: EAI_SYSTEM with errno ETIMEDOUT when the timeout passed, ECANCELED
 * when the calling greenlet was killed. Free *res with hub_freeaddrinfo.
 * Call it from a hub task or a thread's main greenlet. */
int hub_getaddrinfo(const char *name, const char *service, const struct addrinfo *hints,
                    struct addrinfo **res, double timeout);

/* Free a list hub_getaddrinfo made: true. Anything else (NULL, a list from
 * libc's getaddrinfo) is left alone: false. */
bool hub_freeaddrinfo(struct addrinfo *ai);

/* Read nameservers and options from this file instead of /etc/resolv.conf
 * (for tests: a slow DNS server on 127.0.0.1; "nameserver 127.0.0.1:5353"
 * is allowed). The environment variable COROLAB_RESOLV_CONF does the same.
 * Takes effect for resolvers made afterwards; NULL restores the default. */
void hub_resolver_set_conf(const char *path);

/* Free the calling thread's resolver; lookups still waiting fail. */
void hub_resolver_free(void);

#endif
