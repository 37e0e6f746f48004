/*
 * repr.h - bytes as Python prints them: repr(b'hi\n') is b'hi\n'.
 *
 * The echo lessons print what they receive the way the course's Python
 * does (print("recv:", data)), so a student can hold the two outputs side
 * by side. Python's rules (Objects/bytesobject.c): quote with ' unless the
 * bytes hold a ' and no ", then with "; escape the quote in use and \ with
 * a backslash; \t \n \r by name; any other byte below 0x20 or from 0x7f up
 * as \xNN (lower-case hex); the rest as it is.
 *
 * Long messages are cut: only the first max_shown bytes are shown, and the
 * full length follows: b'aaaa'... (70000 bytes). That tail is ours, not
 * Python's (Python would print all 70,000).
 */
#ifndef CL_REPR_H
#define CL_REPR_H

#include <stddef.h>
#include <stdio.h>

/* Room for the repr of up to max_shown bytes, cut or not, with its NUL:
 * 4 characters a byte at most, b'' and the "... (N bytes)" tail. */
#define CL_REPR_SIZE(max_shown) (4 * (size_t)(max_shown) + 48)

/* Write repr(p[0..n)) into out, cut after max_shown bytes (0: never cut).
 * Like snprintf: out is always NUL-terminated when outlen > 0, and the
 * return value is the length the whole text needs (not counting the NUL);
 * a return >= outlen means it was truncated. */
size_t cl_repr_bytes(char *out, size_t outlen, const void *p, size_t n, size_t max_shown);

/* The same, written to f. Returns what fputs returns. */
int cl_fputs_repr_bytes(FILE *f, const void *p, size_t n, size_t max_shown);

#endif
