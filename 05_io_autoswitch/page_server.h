/* page_server.h - lesson 05's own web server, for running offline. */
#ifndef PAGE_SERVER_H
#define PAGE_SERVER_H

#include <stdbool.h>
#include <stddef.h>

struct page {
    const char *path; /* "/python" */
    size_t size;      /* body bytes */
    double delay;     /* seconds before the answer */
    bool chunked;     /* Transfer-Encoding: chunked, else Content-Length */
};
extern const struct page pages[];
#define NPAGES 3

#define SERVER_URL_MAX 64

/* Start serving on 127.0.0.1 in a second thread, say so on stdout (the
 * port, the pages) and put the pages' URLs in urls. Exits with a message
 * if it cannot. */
void server_start(char urls[NPAGES][SERVER_URL_MAX]);
/* Stop the thread and free everything. */
void server_stop(void);

#endif
