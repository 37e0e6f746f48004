/* monkey_core.c - the core of monkey.o: libc's own functions, who may wait on
 * the hub, the per-fd state and the wait itself (see monkey.h, MONKEY.md,
 * and monkey_impl.h for the other parts). */
#include "monkey_impl.h"
#include "monkey.h"
#include "greenlet.h"
#include "hub.h"
#include "resolve.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

/* ---- libc's own functions ---- */

struct monkey_libc monkey_libc;
pthread_once_t monkey_libc_once = PTHREAD_ONCE_INIT;

static void *next_symbol(const char *name)
{
    void *f = dlsym(RTLD_NEXT, name);
    if (!f) {
        /* No stdio: we may be inside it. */
        static const char msg[] = "monkey: dlsym(RTLD_NEXT) cannot find a libc function\n";
        syscall(SYS_write, 2, msg, sizeof msg - 1);
        abort();
    }
    return f;
}

#define FIND(name) monkey_libc.name = (__typeof__(monkey_libc.name))next_symbol(#name)

void monkey_find_libc(void)
{
    FIND(socket); FIND(connect); FIND(accept); FIND(accept4);
    FIND(read); FIND(write); FIND(recv); FIND(send);
    FIND(recvfrom); FIND(sendto); FIND(readv); FIND(writev);
    FIND(close); FIND(dup); FIND(dup2); FIND(dup3);
    FIND(fcntl); FIND(ioctl); FIND(poll);
    FIND(sleep); FIND(usleep); FIND(nanosleep);
    FIND(getaddrinfo); FIND(freeaddrinfo);
}

/* ---- who is calling ---- */

static __thread bool patched;

void monkey_patch_all(void)
{
    pthread_once(&monkey_libc_once, monkey_find_libc);
    patched = true;
}

bool monkey_is_patched(void)
{
    return patched;
}

void monkey_unpatch_all(void)
{
    patched = false;
    hub_resolver_free();
}

/* In the patched thread's main greenlet and in hub tasks: yes. In the
 * hub's own greenlet (libevent callbacks) or a greenlet the hub did not
 * spawn: no, nothing would switch back to it. */
bool monkey_cooperative(void)
{
    if (!patched)
        return false;
    return hub_current() != NULL || greenlet_current() == greenlet_main();
}

/* ---- per-fd state ---- */

_Atomic unsigned char monkey_fd_state[MONKEY_MAX_FD];

/* Past MONKEY_MAX_FD we cannot track it: give it back the flag it asked
 * for, and it stays libc's. */
void monkey_adopt(int fd, bool user_nb)
{
    if (fd < 0)
        return;
    if (fd >= MONKEY_MAX_FD) {
        if (!user_nb) {
            int fl = LIBC(fcntl)(fd, F_GETFL);
            if (fl >= 0)
                LIBC(fcntl)(fd, F_SETFL, fl & ~O_NONBLOCK);
        }
        return;
    }
    atomic_store_explicit(&monkey_fd_state[fd],
                          (unsigned char)(FD_OURS | (user_nb ? FD_USER_NONBLOCK : 0)),
                          memory_order_relaxed);
}

/* ---- waiting ---- */

/* The socket's SO_RCVTIMEO or SO_SNDTIMEO in seconds; HUB_FOREVER if none. */
static double sock_timeout(int fd, int opt)
{
    struct timeval tv;
    socklen_t len = sizeof tv;
    if (getsockopt(fd, SOL_SOCKET, opt, &tv, &len) != 0 ||
        (tv.tv_sec == 0 && tv.tv_usec == 0))
        return HUB_FOREVER;
    return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

int monkey_wait_fd(int fd, short what, int on_timeout)
{
    double timeout = sock_timeout(fd, what == HUB_READ ? SO_RCVTIMEO : SO_SNDTIMEO);
    if (monkey_cooperative()) {
        fd_set_flag(fd, FD_ON_HUB, true);
        if (hub_wait_fd(fd, what, timeout) == 0)
            return 0;
        if (errno == ETIMEDOUT)
            errno = on_timeout;
        return -1;
    } else {
        struct pollfd p = {fd, what == HUB_READ ? POLLIN : POLLOUT, 0};
        int ms = timeout < 0 ? -1 : (int)ceil(timeout * 1000);
        int r = LIBC(poll)(&p, 1, ms);
        if (r == 0)
            errno = on_timeout;
        return r > 0 ? 0 : -1;
    }
}
