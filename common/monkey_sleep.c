/* monkey_sleep.c - sleep, usleep and nanosleep become hub_sleep (see
 * monkey_impl.h). */
#include "monkey_impl.h"
#include "clock.h"
#include "hub.h"

#include <math.h>
#include <unistd.h>

/* ---- sleeping ---- */

unsigned sleep(unsigned s)
{
    double t0;
    if (!monkey_cooperative())
        return LIBC(sleep)(s);
    t0 = cl_now();
    if (hub_sleep(s) == 0)
        return 0;
    return (unsigned)ceil(fmax(0, s - (cl_now() - t0)));
}

int usleep(useconds_t us)
{
    if (!monkey_cooperative())
        return LIBC(usleep)(us);
    return hub_sleep(us / 1e6);
}

int nanosleep(const struct timespec *req, struct timespec *rem)
{
    double s, t0;
    if (!monkey_cooperative())
        return LIBC(nanosleep)(req, rem);
    if (!req) {
        errno = EFAULT;
        return -1;
    }
    if (req->tv_nsec < 0 || req->tv_nsec > 999999999 || req->tv_sec < 0) {
        errno = EINVAL;
        return -1;
    }
    s = (double)req->tv_sec + (double)req->tv_nsec / 1e9;
    t0 = cl_now();
    if (hub_sleep(s) == 0)
        return 0;
    if (rem) {
        double left = fmax(0, s - (cl_now() - t0));
        rem->tv_sec = (time_t)left;
        rem->tv_nsec = (long)((left - (double)rem->tv_sec) * 1e9);
    }
    return -1;
}
