/*
 * conn-limit - lesson 06's echo server, small, with five clients of its
 * own, all greenlets in one thread. The exercise (../README.md): serve at
 * most 2 connections at once, as gevent's `pool.Pool(2)` would.
 *
 * Each handler is slow on purpose (it waits 0.2 s before each echo), so
 * that connections overlap; the server counts how many it handles at once.
 */
#include "cli.h"
#include "cosock.h"
#include "hub.h"

#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>

#define CLIENTS 5

static int port;
static int active, most; /* connections accepted, not yet closed; at most */
static char echoed[CLIENTS][32];

static const cl_program prog = {
    .name = "conn-limit",
    .summary = "An echo server and five clients; the exercise: at most 2 at once.",
    .max_args = 0,
};

/* handle_request(conn): echo until the client has sent everything. */
static void *handle(void *arg)
{
    int conn = (int)(intptr_t)arg;
    char buf[64];
    ssize_t n;

    while ((n = cosock_recv(conn, buf, sizeof buf, 10)) > 0) {
        hub_sleep(0.2); /* a slow server */
        if (cosock_sendall(conn, buf, (size_t)n, 10) != 0)
            break;
    }
    cosock_close(conn);
    active--;
    return NULL;
}

/* The accept loop: one greenlet per connection, CLIENTS in all. */
static void *server(void *arg)
{
    int lfd = (int)(intptr_t)arg;
    for (int i = 0; i < CLIENTS; i++) {
        int conn = cosock_accept(lfd, NULL, 10);
        if (conn < 0)
            cl_err_exit("accept");
        active++;
        if (active > most)
            most = active;
        hub_task *t = hub_spawn(handle, (void *)(intptr_t)conn);
        if (!t)
            cl_err_exit("spawn");
        hub_detach(t);
    }
    return NULL;
}

/* Send "hello i", say that is all, and keep what comes back. */
static void *client(void *arg)
{
    long i = (long)(intptr_t)arg;
    char msg[16];
    int fd = cosock_connect("127.0.0.1", port, 10);
    if (fd < 0)
        cl_err_exit("connect");
    int len = snprintf(msg, sizeof msg, "hello %ld", i);
    if (cosock_sendall(fd, msg, (size_t)len, 10) != 0)
        cl_err_exit("send");
    cosock_shutdown(fd, SHUT_WR);
    if (cosock_recv_exact(fd, echoed[i], (size_t)len, 10) < 0)
        cl_err_exit("recv");
    cosock_close(fd);
    return NULL;
}

int main(int argc, char **argv)
{
    hub_task *tasks[CLIENTS + 1];

    cl_parse_args(&prog, argc, argv);
    int lfd = cosock_listen("127.0.0.1", 0, 16);
    if (lfd < 0)
        cl_err_exit("listen");
    port = cosock_local_port(lfd);
    tasks[0] = hub_spawn(server, (void *)(intptr_t)lfd);
    for (long i = 0; i < CLIENTS; i++)
        tasks[i + 1] = hub_spawn(client, (void *)(intptr_t)i);
    for (int i = 0; i <= CLIENTS; i++)
        if (!tasks[i])
            cl_err_exit("spawn");
    if (hub_joinall(tasks, CLIENTS + 1, 30) != 0)
        cl_fatal("joinall: %s", hub_strerror(errno));
    hub_run(); /* let the last handlers close their connections */

    for (int i = 0; i < CLIENTS; i++)
        printf("client %d got: %s\n", i, echoed[i]);
    printf("%d connections served, at most %d at once\n", CLIENTS, most);
    for (int i = 0; i <= CLIENTS; i++)
        hub_task_free(tasks[i]);
    cosock_close(lfd);
    hub_shutdown();
    return 0;
}
