/*
 * slab.h - fixed-size records from large mappings, for the core's many
 * small things (the hub's task records, the saved frames of SHARED-stack
 * greenlets, their names).
 *
 * Why not malloc: a million sleeping greenlets are a million records and a
 * million saved stacks, and on a VM the first touch of each 4 KiB page
 * costs microseconds: with malloc most of lesson 04's time went on page
 * faults (and a header per block). A slab takes 2 MiB chunks, aligned, and
 * from the second chunk of a slab on asks the kernel for transparent huge
 * pages (MADV_HUGEPAGE: one fault per 2 MiB); the first chunk stays in
 * small pages, touched only as far as it is used, so a program with ten
 * greenlets pays for a few pages, not 2 MiB. Freed records go on a LIFO
 * list through their own first word: freeing writes into the freed record
 * and one bit of its chunk's header, never into a neighbour.
 *
 * A chunk's header keeps one bit per record in use, so cl_slab_foreach
 * can visit every live record (the hub frees its tasks at shutdown that
 * way, with no list linking them). Under AddressSanitizer freed records
 * are poisoned; under valgrind they are marked inaccessible, and a record
 * handed out is undefined, as from malloc.
 *
 * A slab belongs to one thread; nothing here locks.
 */
#ifndef CL_SLAB_H
#define CL_SLAB_H

#include <stdbool.h>
#include <stddef.h>

#define CL_SLAB_CHUNK ((size_t)2 << 20) /* bytes per chunk, and its alignment */
#define CL_SLAB_MAX (CL_SLAB_CHUNK / 16) /* largest record a slab takes */

struct cl_slab_chunk;

typedef struct cl_slab {
    size_t size;                  /* bytes per record (multiple of 8) */
    void *free;                   /* freed records, last freed first */
    char *bump, *end;             /* the newest chunk's never-used part */
    struct cl_slab_chunk *chunks; /* newest first */
    size_t live;                  /* records handed out, not yet freed */
    unsigned nchunks;
    bool valgrind;                /* running under it: tell it (slab.c) */
} cl_slab;

/* A slab of records of `size` bytes (rounded up to a multiple of 8, at
 * least 16; at most CL_SLAB_MAX). Maps nothing until the first
 * cl_slab_alloc. */
void cl_slab_init(cl_slab *s, size_t size);
/* A record, 8-aligned (16-aligned if the size is a multiple of 16), its
 * contents undefined; NULL with errno ENOMEM. */
void *cl_slab_alloc(cl_slab *s);
/* Give back a record of s (NULL: nothing). */
void cl_slab_free(cl_slab *s, void *p);
/* fn(record, arg) for every record in use, in address order within a
 * chunk; fn may free the record it is given (and nothing else). */
void cl_slab_foreach(cl_slab *s, void (*fn)(void *rec, void *arg), void *arg);
/* Unmap every chunk: records still in use are gone. s is left empty and
 * can be used again. */
void cl_slab_fini(cl_slab *s);

/* ---- blocks of any size: one slab per 16-byte size class ----
 * For blocks up to CL_SLABS_MAX bytes; larger ones come from malloc. The
 * caller keeps the capacity it was given (*cap) and passes it back to
 * free the block. */
#define CL_SLABS_MAX 1024
#define CL_SLABS_CLASSES (CL_SLABS_MAX / 16)

typedef struct cl_slabs {
    cl_slab cls[CL_SLABS_CLASSES]; /* size 16 * (i + 1); 0: unused yet */
} cl_slabs;

/* A block of at least n bytes (n > 0), its capacity in *cap; NULL with
 * errno ENOMEM. */
void *cl_slabs_alloc(cl_slabs *z, size_t n, size_t *cap);
/* The capacity cl_slabs_alloc gives for n bytes: a caller that keeps only
 * the size it asked for finds the capacity again. */
static inline size_t cl_slabs_cap(size_t n)
{
    return n > CL_SLABS_MAX ? n : n ? (n + 15) & ~(size_t)15 : 16;
}
void cl_slabs_free(cl_slabs *z, void *p, size_t cap);
void cl_slabs_fini(cl_slabs *z);

#endif
