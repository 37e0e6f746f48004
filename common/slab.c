/* slab.c - fixed-size records from 2 MiB chunks (see slab.h). */
#include "slab.h"
#include "sanitize.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

/* At the start of every chunk: whose it is, and which records are in use
 * (bit i: the record at first + i * size). */
struct cl_slab_chunk {
    cl_slab *owner;
    struct cl_slab_chunk *next;
    char *first;
    size_t nrec;
    uint64_t used[];
};

/* What the tools must be told; nothing without them. valgrind's client
 * requests cost a few cycles each even outside valgrind, and a spawn makes
 * three: they are made only when the slab found itself under valgrind. */
static void mark(const cl_slab *s, void *p, size_t n, bool handed_out)
{
#ifdef CL_ASAN
    if (handed_out)
        ASAN_UNPOISON_MEMORY_REGION(p, n);
    else
        ASAN_POISON_MEMORY_REGION(p, n);
#endif
#ifdef CL_VALGRIND
    if (s->valgrind && handed_out)
        VALGRIND_MAKE_MEM_UNDEFINED(p, n); /* as from malloc */
    else if (s->valgrind)
        VALGRIND_MAKE_MEM_NOACCESS(p, n);
#endif
    (void)s, (void)p, (void)n, (void)handed_out;
}

/* The free list's link in a freed record: readable for a moment. */
static void *read_link(const cl_slab *s, void *p)
{
    void *next;
#ifdef CL_ASAN
    ASAN_UNPOISON_MEMORY_REGION(p, sizeof next);
#endif
#ifdef CL_VALGRIND
    if (s->valgrind)
        VALGRIND_MAKE_MEM_DEFINED(p, sizeof next);
#endif
    (void)s;
    memcpy(&next, p, sizeof next);
    return next;
}

static struct cl_slab_chunk *chunk_of(const void *p)
{
    return (struct cl_slab_chunk *)((uintptr_t)p & ~(uintptr_t)(CL_SLAB_CHUNK - 1));
}

void cl_slab_init(cl_slab *s, size_t size)
{
    memset(s, 0, sizeof *s);
    /* 8 bytes is all a record of pointers and integers needs; a size
     * that is a multiple of 16 keeps every record 16-aligned (the chunk's
     * records start 64-aligned). */
    s->size = size < 16 ? 16 : (size + 7) & ~(size_t)7;
    s->valgrind = cl_running_on_valgrind() != 0;
}

/* A chunk mapped at a CL_SLAB_CHUNK boundary (so that a record finds its
 * header by masking its address): map twice the size, trim both ends. */
static struct cl_slab_chunk *chunk_new(cl_slab *s)
{
    size_t span = 2 * CL_SLAB_CHUNK, head, nrec, hdr;
    char *map = mmap(NULL, span, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    char *at;
    struct cl_slab_chunk *c;

    if (map == MAP_FAILED)
        return NULL;
    at = (char *)(((uintptr_t)map + CL_SLAB_CHUNK - 1) &
                  ~(uintptr_t)(CL_SLAB_CHUNK - 1));
    head = (size_t)(at - map);
    if (head)
        munmap(map, head);
    munmap(at + CL_SLAB_CHUNK, span - head - CL_SLAB_CHUNK);
#ifdef MADV_HUGEPAGE
    /* The first chunk stays in small pages: a small program touches a few
     * of them. A slab that needs a second is big: 2 MiB pages, one fault
     * each instead of 512. Only advice: no THP, no harm. */
    if (s->nchunks > 0)
        madvise(at, CL_SLAB_CHUNK, MADV_HUGEPAGE);
#endif
    c = (struct cl_slab_chunk *)at;
    /* As many records as fit after the header and its bitmap. */
    nrec = (CL_SLAB_CHUNK - sizeof *c) / s->size;
    for (;;) {
        hdr = (sizeof *c + (nrec + 63) / 64 * 8 + 63) & ~(size_t)63;
        if (hdr + nrec * s->size <= CL_SLAB_CHUNK)
            break;
        nrec--;
    }
    c->owner = s;
    c->next = s->chunks;
    c->first = at + hdr;
    c->nrec = nrec;
    /* used[] is zero: fresh anonymous memory. */
    s->chunks = c;
    s->nchunks++;
    s->bump = c->first;
    s->end = c->first + nrec * s->size;
    mark(s, s->bump, (size_t)(s->end - s->bump), false);
    return c;
}

void *cl_slab_alloc(cl_slab *s)
{
    void *p = s->free;
    struct cl_slab_chunk *c;
    size_t i;

    if (p) {
        s->free = read_link(s, p);
    } else {
        if (s->bump == s->end && !chunk_new(s)) {
            errno = ENOMEM;
            return NULL;
        }
        p = s->bump;
        s->bump += s->size;
    }
    mark(s, p, s->size, true);
    c = chunk_of(p);
    i = (size_t)((char *)p - c->first) / s->size;
    c->used[i / 64] |= (uint64_t)1 << (i % 64);
    s->live++;
    return p;
}

void cl_slab_free(cl_slab *s, void *p)
{
    struct cl_slab_chunk *c;
    size_t i;

    if (!p)
        return;
    c = chunk_of(p);
    i = (size_t)((char *)p - c->first) / s->size;
    if (c->owner != s || !(c->used[i / 64] & ((uint64_t)1 << (i % 64))))
        abort(); /* not ours, or freed twice: memory is already corrupt */
    c->used[i / 64] &= ~((uint64_t)1 << (i % 64));
    memcpy(p, &s->free, sizeof s->free);
    s->free = p;
    s->live--;
    mark(s, p, s->size, false);
}

void cl_slab_foreach(cl_slab *s, void (*fn)(void *rec, void *arg), void *arg)
{
    for (struct cl_slab_chunk *c = s->chunks; c; c = c->next)
        for (size_t i = 0; i < c->nrec; i++)
            if (c->used[i / 64] & ((uint64_t)1 << (i % 64)))
                fn(c->first + i * s->size, arg);
}

void cl_slab_fini(cl_slab *s)
{
    size_t size = s->size;
    while (s->chunks) {
        struct cl_slab_chunk *c = s->chunks;
        s->chunks = c->next;
        /* ASan's shadow outlives the mapping. */
        mark(s, c->first, c->nrec * size, true);
        munmap(c, CL_SLAB_CHUNK);
    }
    cl_slab_init(s, size);
}

/* ---- size classes ---- */

void *cl_slabs_alloc(cl_slabs *z, size_t n, size_t *cap)
{
    cl_slab *s;
    void *p;

    if (n > CL_SLABS_MAX) {
        if (!(p = malloc(n)))
            return NULL;
        *cap = n;
        return p;
    }
    s = &z->cls[(n ? n - 1 : 0) / 16];
    if (!s->size)
        cl_slab_init(s, (size_t)(s - z->cls + 1) * 16);
    if (!(p = cl_slab_alloc(s)))
        return NULL;
    *cap = s->size;
    return p;
}

void cl_slabs_free(cl_slabs *z, void *p, size_t cap)
{
    if (!p)
        return;
    if (cap > CL_SLABS_MAX)
        free(p);
    else
        cl_slab_free(&z->cls[(cap - 1) / 16], p);
}

void cl_slabs_fini(cl_slabs *z)
{
    for (size_t i = 0; i < CL_SLABS_CLASSES; i++)
        if (z->cls[i].size)
            cl_slab_fini(&z->cls[i]);
}
