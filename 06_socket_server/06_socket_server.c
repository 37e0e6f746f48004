/*
 * 06_socket_server - an echo server with one greenlet per connection, in
 * one thread.
 *
 * The course's server, call for call. The accept loop spawns a greenlet
 * for each client into a pool (gevent.pool.Pool: the --max-conns limit,
 * and "kill them all" at exit), and each greenlet runs plain-looking
 * blocking code: recv, print, send it back. The sockets are cooperative
 * (common/cosock.h): a recv with nothing to read switches to the hub,
 * which runs whichever other greenlet has data. Options, the log, signals,
 * the summary, --demo and --workers are in scaffold.c.
 *
 * The course's Python (gevent, monkey.patch_all()):
 *     def server(port):
 *         s = socket.socket(); s.bind(('0.0.0.0', port)); s.listen(500)
 *         while True:
 *             cli, addr = s.accept()
 *             gevent.spawn(handle_request, cli)
 *     def handle_request(conn):
 *         try:
 *             while True:
 *                 data = conn.recv(1024)
 *                 print("recv:", data)
 *                 conn.send(data)
 *                 if not data:
 *                     conn.shutdown(socket.SHUT_WR)
 *         except Exception as ex:
 *             print(ex)
 *         finally:
 *             conn.close()
 *
 * What that does when a client closes: recv returns b'' (printed), send(b'')
 * sends nothing, shutdown(SHUT_WR) ends our side; the loop goes round, recv
 * returns b'' again (printed a second time), and this time send(b'') raises
 * [Errno 32] Broken pipe (Linux refuses any send, even of nothing, on a
 * socket shut for writing), which is printed, and finally closes. So it
 * does not spin forever; it ends by an exception. Here the greenlet ends at
 * the first b'', as that Python means to. Three more fixes: sendall, not
 * send (send may send only part); no SIGPIPE from a peer that has gone
 * (MSG_NOSIGNAL); and conn.settimeout(--idle-timeout), so silent clients
 * cannot hold every slot for ever.
 */
#include "cli.h"
#include "cosock.h"
#include "hub.h"
#include "pool.h"
#include "scaffold.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

/* def handle_request(conn): */
static void *handle_request(void *arg)
{
    struct srv_conn *conn = arg;
    unsigned char data[16384];
    double timeout = srv_idle_timeout(); /* conn.settimeout(...) */
    int why = 0;                         /* 0: the client closed */

    while (!hub_killed()) { /* a client that never lets recv wait: ask */
        /* data = conn.recv(1024); if not data: break */
        ssize_t n = cosock_recv(conn->fd, data, sizeof data, timeout);
        if (n <= 0) {
            why = n < 0 ? errno : 0;
            break;
        }
        /* print("recv:", data) */
        srv_print_recv(data, (size_t)n);
        /* conn.sendall(data) */
        if (cosock_sendall(conn->fd, data, (size_t)n, timeout) != 0) {
            why = errno;
            break;
        }
        srv_echoed((size_t)n);
    }
    if (hub_killed())
        why = ECANCELED;
    srv_closed(conn, why); /* except Exception as ex: print(ex) */
    cosock_close(conn->fd); /* finally: conn.close() */
    free(conn);
    return NULL;
}

/* def server(port): */
static void server(void)
{
    /* s = socket.socket(); s.bind((host, port)); s.listen() */
    int s = srv_listen();
    /* pool = gevent.pool.Pool(--max-conns) */
    hub_pool *pool = hub_pool_new(srv_max_conns());
    char name[32]; /* "conn-7", for --trace: outlives the pool's tasks */

    if (!pool)
        cl_err_exit("hub_pool_new");

    while (!srv_stopping()) { /* while True: (until SIGINT or SIGTERM) */
        cosock_addr addr;
        struct srv_conn *conn;
        /* cli, addr = s.accept() */
        int cli = cosock_accept(s, &addr, HUB_FOREVER);
        if (cli < 0) {
            srv_accept_failed(errno);
            continue;
        }
        /* refused at once when the pool is full: counted, not queued */
        if (!(conn = srv_admit(pool, cli, &addr)))
            continue;
        /* pool.spawn(handle_request, cli), named for --trace */
        snprintf(name, sizeof name, "conn-%lu", conn->id);
        hub_spawn_opts opts = {.name = name};
        if (!hub_pool_spawn(pool, handle_request, conn, &opts))
            srv_spawn_failed(conn, errno);
    }
    cosock_close(s);
    srv_kill_all(pool); /* pool.kill(): each connection's greenlet ends */
    hub_pool_free(pool);
}

int main(int argc, char **argv)
{
    srv_setup(argc, argv); /* options, stdout, --workers */
    server();              /* server(8001) */
    int status = srv_summary();
    hub_shutdown();
    return status;
}
