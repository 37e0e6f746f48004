/* resolve.c - getaddrinfo on the hub: libevent's evdns answers, the caller
 * waits on a hub_event (see resolve.h). */
#include "resolve.h"
#include "hub.h"
#include "hub_impl.h" /* hub_on_shutdown */

#include <arpa/inet.h>
#include <errno.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <event2/util.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- the lists we hand out ---- */

/* Our lists are freed by us, libc's by libc (monkey's freeaddrinfo gets
 * both): remember which heads are ours. */
struct our_list {
    struct addrinfo *head;
    struct our_list *next;
};
static struct our_list *our_lists;
static pthread_mutex_t lists_lock = PTHREAD_MUTEX_INITIALIZER;

static void free_nodes(struct addrinfo *ai)
{
    while (ai) {
        struct addrinfo *next = ai->ai_next;
        free(ai->ai_canonname);
        free(ai);
        ai = next;
    }
}

/* One node: the addrinfo and its address in one block. */
static struct addrinfo *node(int family, int socktype, int protocol,
                             const struct sockaddr *sa, socklen_t len)
{
    struct addrinfo *ai = calloc(1, sizeof *ai + len);
    if (!ai)
        return NULL;
    ai->ai_family = family;
    ai->ai_socktype = socktype;
    ai->ai_protocol = protocol;
    ai->ai_addrlen = len;
    ai->ai_addr = (struct sockaddr *)(ai + 1);
    memcpy(ai->ai_addr, sa, len);
    return ai;
}

static int hand_out(struct addrinfo *head, struct addrinfo **res)
{
    struct our_list *l = malloc(sizeof *l);
    if (!l) {
        free_nodes(head);
        return EAI_MEMORY;
    }
    l->head = head;
    pthread_mutex_lock(&lists_lock);
    l->next = our_lists;
    our_lists = l;
    pthread_mutex_unlock(&lists_lock);
    *res = head;
    return 0;
}

/* Take head off our list of lists: true if it was there. */
static bool unlist(struct addrinfo *head)
{
    struct our_list **p, *found = NULL;
    pthread_mutex_lock(&lists_lock);
    for (p = &our_lists; *p; p = &(*p)->next)
        if ((*p)->head == head) {
            found = *p;
            *p = found->next;
            break;
        }
    pthread_mutex_unlock(&lists_lock);
    free(found);
    return found != NULL;
}

bool hub_freeaddrinfo(struct addrinfo *ai)
{
    if (!ai || !unlist(ai))
        return false;
    free_nodes(ai);
    return true;
}

/* ---- numbers: answered here, as glibc answers them ---- */

/* The port of a numeric service (or none): 0..65535, or -1 if it is a
 * name for /etc/services, which evdns looks up. */
static int numeric_port(const char *service)
{
    char *end;
    long p;
    if (!service || !*service)
        return 0;
    p = strtol(service, &end, 10);
    return *end || p < 0 || p > 65535 ? -1 : (int)p;
}

/* Append one node per socket type (glibc gives all three when the hints
 * name none) for address sa. */
static int append(struct addrinfo ***tail, const struct addrinfo *h,
                  const struct sockaddr *sa, socklen_t len)
{
    static const int types[][2] = {
        {SOCK_STREAM, IPPROTO_TCP}, {SOCK_DGRAM, IPPROTO_UDP}, {SOCK_RAW, 0}};
    for (size_t i = 0; i < 3; i++) {
        if (h->ai_socktype && h->ai_socktype != types[i][0])
            continue;
        if (!(**tail = node(sa->sa_family, types[i][0],
                            h->ai_protocol ? h->ai_protocol : types[i][1], sa, len)))
            return EAI_MEMORY;
        *tail = &(**tail)->ai_next;
    }
    return 0;
}

/* name as an IPv4 number (inet_aton's forms: 127.1 is 127.0.0.1) or an
 * IPv6 literal: 0 and *res, EAI_NONAME if it is a number of the wrong
 * family, or 1 if it is not a number (or needs evdns for its service). */
static int numeric(const char *name, const char *service, const struct addrinfo *h,
                   struct addrinfo **res)
{
    union {
        struct sockaddr sa;
        struct sockaddr_in in;
        struct sockaddr_in6 in6;
    } a;
    struct addrinfo *head = NULL, **tail = &head;
    int port = numeric_port(service), rc;
    socklen_t len;

    memset(&a, 0, sizeof a);
    /* inet_aton stops at white space; glibc's getaddrinfo does not. */
    if (inet_aton(name, &a.in.sin_addr) && !strpbrk(name, " \t\n")) {
        a.in.sin_family = AF_INET;
        len = sizeof a.in;
    } else if (inet_pton(AF_INET6, name, &a.in6.sin6_addr) == 1) {
        a.in6.sin6_family = AF_INET6;
        len = sizeof a.in6;
    } else {
        return 1;
    }
    if (h->ai_family != AF_UNSPEC && h->ai_family != a.sa.sa_family)
        return EAI_NONAME;
    if (port < 0 || (h->ai_flags & AI_CANONNAME))
        return 1;
    _Static_assert(offsetof(struct sockaddr_in, sin_port) ==
                       offsetof(struct sockaddr_in6, sin6_port),
                   "one store sets the port of either family");
    a.in.sin_port = htons((uint16_t)port);
    if ((rc = append(&tail, h, &a.sa, len)) != 0) {
        free_nodes(head);
        return rc;
    }
    if (!head)
        return EAI_SOCKTYPE;
    return hand_out(head, res);
}

/* name is label, or a name under it ("foo.localhost"), dot-terminated or
 * not. */
static bool name_is(const char *name, const char *label)
{
    size_t n = strlen(name), l = strlen(label);
    if (n && name[n - 1] == '.')
        n--;
    if (n == l)
        return strncasecmp(name, label, l) == 0;
    return n > l && name[n - l - 1] == '.' && strncasecmp(name + n - l, label, l) == 0;
}

/* ---- the resolver: one evdns_base per thread, on its hub ---- */

static __thread struct evdns_base *dns;
static __thread struct event_base *dns_on; /* the hub base dns was made on */
static char *conf_path;                    /* NULL: the environment, or /etc */
static pthread_mutex_t conf_lock = PTHREAD_MUTEX_INITIALIZER;

void hub_resolver_set_conf(const char *path)
{
    char *copy = path ? strdup(path) : NULL;
    pthread_mutex_lock(&conf_lock);
    free(conf_path);
    conf_path = copy;
    pthread_mutex_unlock(&conf_lock);
}

/* evdns warns on stderr when a nameserver does not answer; the caller's
 * error code says it once, in the caller's words. */
static void quiet(int is_warning, const char *msg)
{
    (void)is_warning, (void)msg;
}

static struct evdns_base *resolver(void)
{
    struct event_base *base = hub_event_base();
    const char *path;
    if (!base)
        return NULL;
    if (dns && dns_on == base)
        return dns;
    /* A resolver made on a hub since shut down (hub_shutdown without
     * hub_resolver_free first) cannot be freed safely: drop it. */
    dns = NULL;
    evdns_set_log_fn(quiet);
    pthread_mutex_lock(&conf_lock);
    path = conf_path ? conf_path : getenv("COROLAB_RESOLV_CONF");
    /* DISABLE_WHEN_INACTIVE: an idle resolver does not keep the loop busy. */
    dns = evdns_base_new(base, EVDNS_BASE_DISABLE_WHEN_INACTIVE);
    if (dns && evdns_base_resolv_conf_parse(dns, DNS_OPTIONS_ALL,
                                            path ? path : "/etc/resolv.conf") != 0 &&
        evdns_base_count_nameservers(dns) == 0)
        evdns_base_load_hosts(dns, NULL); /* no resolv.conf: /etc/hosts still */
    pthread_mutex_unlock(&conf_lock);
    if (dns && hub_on_shutdown(hub_resolver_free) != 0) {
        evdns_base_free(dns, 0);
        dns = NULL;
    }
    if (dns) {
        /* Fail in seconds, not the 5 s x 3 attempts default, offline. */
        evdns_base_set_option(dns, "timeout:", "2");
        evdns_base_set_option(dns, "attempts:", "2");
        dns_on = base;
    }
    return dns;
}

static __thread int cancelled_due; /* cancelled lookups whose callback is still due */

void hub_resolver_free(void)
{
    if (dns && dns_on == hub_event_base()) {
        /* A cancelled lookup's callback is deferred to the loop's next
         * turn, and it frees what the lookup holds: let the loop turn
         * (a sleep, not sleep(0): that runs only the ready greenlets). */
        for (int turns = 0; cancelled_due > 0 && turns < 100; turns++)
            if (hub_sleep(0.001) != 0)
                break;
        evdns_base_free(dns, 1); /* pending lookups fail */
    }
    dns = NULL;
    dns_on = NULL;
}

struct lookup {
    hub_event *done;
    bool abandoned; /* the caller left (timeout, kill): the callback frees this */
    int err;
    struct evutil_addrinfo *res;
};

static void lookup_done(int err, struct evutil_addrinfo *res, void *arg)
{
    struct lookup *lk = arg;
    if (lk->abandoned) {
        cancelled_due--;
        if (res)
            evutil_freeaddrinfo(res);
        hub_event_free(lk->done);
        free(lk);
        return;
    }
    lk->err = err;
    lk->res = res;
    hub_event_set(lk->done);
}

/* Copy libevent's list into ours. */
static int copy_list(struct evutil_addrinfo *src, struct addrinfo **res)
{
    struct addrinfo *head = NULL, **tail = &head;
    for (struct evutil_addrinfo *s = src; s; s = s->ai_next) {
        struct addrinfo *ai = node(s->ai_family, s->ai_socktype, s->ai_protocol,
                                   s->ai_addr, (socklen_t)s->ai_addrlen);
        if (!ai || (s->ai_canonname && !(ai->ai_canonname = strdup(s->ai_canonname)))) {
            free(ai);
            free_nodes(head);
            return EAI_MEMORY;
        }
        *tail = ai;
        tail = &ai->ai_next;
    }
    return hand_out(head, res);
}

/* Ask evdns and wait for its answer on the hub. */
static int ask(struct evdns_base *base, const char *name, const char *service,
               const struct addrinfo *h, struct addrinfo **res, double timeout)
{
    struct evutil_addrinfo eh = {.ai_flags = h->ai_flags, .ai_family = h->ai_family,
                                 .ai_socktype = h->ai_socktype, .ai_protocol = h->ai_protocol};
    struct evdns_getaddrinfo_request *req;
    struct lookup *lk = calloc(1, sizeof *lk);
    int err;

    if (!lk || !(lk->done = hub_event_new())) {
        free(lk);
        return EAI_MEMORY;
    }
    /* The callback runs at once for /etc/hosts names, later (from the
     * hub) for a DNS answer. */
    req = evdns_getaddrinfo(base, name, service, &eh, lookup_done, lk);
    if (hub_event_wait(lk->done, timeout) != 0 && !hub_event_is_set(lk->done)) {
        err = errno;
        lk->abandoned = true;
        cancelled_due++;
        if (req)
            evdns_getaddrinfo_cancel(req); /* its callback frees lk */
        errno = err;
        return EAI_SYSTEM;
    }
    err = lk->err;
    if (err == 0)
        err = copy_list(lk->res, res);
    else if (err == EVUTIL_EAI_CANCEL)
        err = EAI_AGAIN;
    if (lk->res)
        evutil_freeaddrinfo(lk->res);
    hub_event_free(lk->done);
    free(lk);
    return err;
}

/* RFC 6761: "localhost" names are the loopback address, without asking
 * anyone, when /etc/hosts does not say otherwise. */
static int loopback(const char *service, const struct addrinfo *h, struct addrinfo **res)
{
    struct addrinfo nh = *h, *v4 = NULL, *v6 = NULL, *last;
    nh.ai_flags &= ~AI_CANONNAME;
    if (numeric_port(service) < 0)
        service = NULL; /* a name evdns did not know either */
    if (h->ai_family != AF_INET6 && numeric("127.0.0.1", service, &nh, &v4) != 0)
        v4 = NULL;
    if (h->ai_family != AF_INET && numeric("::1", service, &nh, &v6) != 0)
        v6 = NULL;
    if (!v4) {
        *res = v6;
        return v6 ? 0 : EAI_NONAME;
    }
    if (v6) { /* one list: v4's, v6's appended */
        unlist(v6);
        for (last = v4; last->ai_next; last = last->ai_next)
            ;
        last->ai_next = v6;
    }
    *res = v4;
    return 0;
}

int hub_getaddrinfo(const char *name, const char *service, const struct addrinfo *hints,
                    struct addrinfo **res, double timeout)
{
    struct addrinfo h = hints ? *hints : (struct addrinfo){.ai_family = AF_UNSPEC};
    struct evdns_base *base;
    int err;

    if (!name && !service)
        return EAI_NONAME;
    if (name && (err = numeric(name, service, &h, res)) != 1)
        return err;
    if (h.ai_flags & AI_NUMERICHOST)
        return EAI_NONAME;
    if (name && name_is(name, "invalid")) /* RFC 6761: never resolves */
        return EAI_NONAME;
    if (!(base = resolver()))
        return EAI_MEMORY;
    err = ask(base, name, service, &h, res, timeout);
    if (err && err != EAI_MEMORY && err != EAI_SYSTEM && name && name_is(name, "localhost"))
        return loopback(service, &h, res);
    return err;
}
