/*
 * monkey.h - gevent's monkey.patch_all() in C: the ordinary POSIX calls
 * wait on the hub instead of blocking the thread.
 *
 * monkey.o ($(MONKEY_OBJ) in corolab.mk; its parts are monkey*.c, see
 * monkey_impl.h) defines socket, connect, accept, accept4, read, write, recv,
 * send, recvfrom, sendto, readv, writev, close, dup, dup2, dup3, fcntl,
 * ioctl, poll, sleep, usleep, nanosleep, getaddrinfo and freeaddrinfo.
 * Linked into an executable, these definitions come first in the dynamic
 * linker's search order, so they receive the program's calls and those of
 * its shared libraries (libevent's too); each reaches libc's own function
 * through dlsym(RTLD_NEXT, ...). It is not in libcorolab.a: a program
 * links it on purpose (EXTRA_OBJS := ../common/monkey.o).
 *
 * What changes after monkey_patch_all(), in the calling thread only:
 *   - In its main greenlet and in hub tasks (hub_spawn), a call that would
 *     block on a socket made after patching waits on the hub instead
 *     (hub_wait_fd), so other greenlets run meanwhile; sleeps become
 *     hub_sleep; poll waits on the hub; getaddrinfo is hub_getaddrinfo
 *     (resolve.h: libevent's evdns on the hub's event_base, /etc/hosts
 *     first), within monkey_set_resolver_timeout's limit.
 *   - Such sockets are really non-blocking; the program still sees the
 *     flags it asked for (fcntl F_GETFL, FIONBIO): if it asked for
 *     O_NONBLOCK it gets EAGAIN as before, and if not, calls block as
 *     before, honouring SO_RCVTIMEO/SO_SNDTIMEO (EAGAIN on expiry, and
 *     EINPROGRESS for connect, as Linux does).
 *   - A blocked call of a greenlet killed with hub_kill returns -1 with
 *     errno ECANCELED (sleep: the seconds left).
 * Everywhere else (before patching, after monkey_unpatch_all, in other
 * threads, inside the hub's own callbacks) the calls are libc's, and a
 * socket made while patched still behaves as its flags say.
 *
 * Not caught: calls libc makes to itself (stdio's reads and writes, the
 * sockets inside glibc's own getaddrinfo): glibc binds them to internal
 * symbols at link time, so no interposed definition can see them. See
 * common/MONKEY.md for the mechanism and its other limits.
 */
#ifndef CL_MONKEY_H
#define CL_MONKEY_H

#include <stdbool.h>

/* Patch the calling thread (idempotent). */
void monkey_patch_all(void);
/* Back to libc's behaviour; frees the resolver. Call it before
 * hub_shutdown(): the resolver lives on the hub's event_base. */
void monkey_unpatch_all(void);
bool monkey_is_patched(void);
/* How long the patched getaddrinfo may take, in seconds, for the calling
 * thread (gevent.config.resolver_timeout); HUB_FOREVER (the default): the
 * resolver's own 2 s x 2 attempts. A lookup that runs out fails with
 * EAI_SYSTEM and errno ETIMEDOUT. */
void monkey_set_resolver_timeout(double seconds);

#endif
