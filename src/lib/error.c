#include "error.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static _Thread_local char last_error[1024];

const char *hp_strerror(int code)
{
    switch (code) {
    case HP_OK: return "success";
    case HP_EIO: return "I/O error";
    case HP_EFORMAT: return "invalid or corrupt data";
    case HP_EVERSION: return "unsupported format version";
    case HP_ENOMEM: return "out of memory";
    case HP_EINVAL: return "invalid argument";
    case HP_ERANGE: return "index out of range";
    case HP_ECANCELED: return "cancelled";
    case HP_ELIMIT: return "value exceeds a sanity limit";
    default: return "unknown error";
    }
}

const char *hp_last_error(void) { return last_error; }

static int vfail(int code, int errnum, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

static int vfail(int code, int errnum, const char *fmt, va_list ap)
{
    int n = vsnprintf(last_error, sizeof last_error, fmt, ap);
    if (errnum && n >= 0 && (size_t)n < sizeof last_error)
        snprintf(last_error + n, sizeof last_error - (size_t)n, ": %s", strerror(errnum));
    return code;
}

int hp_fail(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfail(code, 0, fmt, ap);
    va_end(ap);
    return code;
}

int hp_fail_errno(int code, const char *fmt, ...)
{
    int errnum = errno;
    va_list ap;
    va_start(ap, fmt);
    vfail(code, errnum, fmt, ap);
    va_end(ap);
    return code;
}
