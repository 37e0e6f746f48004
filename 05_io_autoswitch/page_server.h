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

/* Start serving on 127.0.0.1 in a second thread; its port. Exits with a
 * message if it cannot. */
int server_start(void);
/* Stop the thread and free everything. */
void server_stop(void);

#endif
