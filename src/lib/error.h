/* error.h - the library's one error convention.
 *
 * Every failing path ends in hp_fail(code, fmt, ...), which records a
 * one-line message in a thread-local buffer and returns `code`, so callers
 * write `return hp_fail(HP_EFORMAT, "%s: offset %llu: ...", ...)`. */
#ifndef HP_ERROR_H
#define HP_ERROR_H

#include "heapprof.h"

int hp_fail(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* hp_fail() for a failed system call: appends strerror(errno). */
int hp_fail_errno(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Propagate an error: `HP_TRY(expr)` returns expr's code when negative. */
#define HP_TRY(expr)                                                           \
    do {                                                                       \
        int hp_try_rc_ = (expr);                                               \
        if (hp_try_rc_ < 0)                                                    \
            return hp_try_rc_;                                                 \
    } while (0)

#endif
