/*
 * sanitize.h - what AddressSanitizer and valgrind must be told about
 * stacks, reduced to no-ops when neither is in use. Internal to common/.
 */
#ifndef CL_SANITIZE_H
#define CL_SANITIZE_H

#include <stddef.h>

#if defined(__SANITIZE_ADDRESS__)
#define CL_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CL_ASAN 1
#endif
#endif

#ifdef CL_ASAN
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#define CL_NO_ASAN __attribute__((no_sanitize_address))
#else
#define CL_NO_ASAN
#endif

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>) && !defined(CL_NO_VALGRIND)
#include <valgrind/valgrind.h>
#define CL_VALGRIND 1
#endif
#endif

#ifndef CL_VALGRIND
#define VALGRIND_STACK_REGISTER(lo, hi) 0u
#define VALGRIND_STACK_DEREGISTER(id) ((void)(id))
#endif

#endif
